"""Scripted fake model servers for the end-to-end suite: Anthropic Messages and OpenAI Responses.

The real Claude Code and Codex CLIs talk to these instead of a provider. Each server runs on an
ephemeral 127.0.0.1 port in a thread, and plays one scripted agent: on a turn that offers the
shell tool and carries no tool result yet, it asks to run ``command``; once the harness sends the
tool's result back, it answers with final text echoing what it received. Every request is kept
(method, path, headers, JSON body), so a test can read what the model was told, e.g. the policy's
deny reason. ``error_status`` makes every model request fail with that status (e.g. 429).

It must never reach the network beyond 127.0.0.1, and never be used outside tests.
"""

from __future__ import annotations

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FINAL_PREFIX = "DONE: "


class Recorded:
    """One request the fake upstream received."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"Recorded({self.method} {self.path})"


class FakeUpstream:
    """Base: the HTTP plumbing, the request log and the script; subclasses speak one API."""

    def __init__(self, command: str | None = None, error_status: int | None = None) -> None:
        self.command = command
        self.error_status = error_status
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(  # a short poll makes close() quick
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def __enter__(self) -> FakeUpstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self, command: str | None) -> None:
        """Play a new script and forget the requests so far (one upstream for several sessions)."""
        with self.lock:
            self.command = command
            self.requests.clear()

    def model_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST" and self.is_model_path(r.path)]

    # --- subclass API -------------------------------------------------------------------------
    def is_model_path(self, path: str) -> bool:
        raise NotImplementedError

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        raise NotImplementedError

    def error_body(self, status: int) -> dict[str, Any]:
        raise NotImplementedError

    # --- plumbing -----------------------------------------------------------------------------
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

            def record(self, body: Any) -> None:
                with upstream.lock:
                    upstream.requests.append(
                        Recorded(self.command, self.path, dict(self.headers.items()), body)
                    )

            def do_HEAD(self) -> None:
                self.record(None)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.record(None)
                if self.path.split("?")[0].endswith("/models"):
                    send_json(self, 200, {"data": [{"id": "claude-fake", "type": "model"}]})
                else:
                    send_json(self, 404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding", "") == "gzip":
                    raw = gzip.decompress(raw)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                self.record(body)
                path = self.path.split("?")[0]
                if path.endswith("/count_tokens"):
                    send_json(self, 200, {"input_tokens": 100})
                elif not upstream.is_model_path(self.path):
                    send_json(self, 404, {"error": {"message": f"no route {self.path}"}})
                elif upstream.error_status:
                    status = upstream.error_status
                    send_json(self, status, upstream.error_body(status))
                else:
                    upstream.answer(self, body)

        return Handler


def send_json(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    raw = json.dumps(data).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(raw)
    handler.close_connection = True


def send_sse(handler: BaseHTTPRequestHandler, events: list[dict[str, Any]]) -> None:
    """Each event as ``event: <type>`` + ``data: <json>``, then close the connection."""
    send_stream(
        handler,
        b"".join(
            f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events
        ),
    )


def send_stream(handler: BaseHTTPRequestHandler, raw: bytes) -> None:
    """``raw`` as a whole ``text/event-stream`` answer, then close the connection."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Content-Length", str(len(raw)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(raw)
    handler.close_connection = True


def text_of(content: Any) -> str:
    """The text inside a tool result's content (a string or a list of text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text_of(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


# --- Anthropic Messages (Claude Code) ---------------------------------------------------------


class FakeAnthropic(FakeUpstream):
    """``POST /v1/messages`` with streaming SSE, as Claude Code 2.1.x expects it."""

    def is_model_path(self, path: str) -> bool:
        return path.split("?")[0].endswith("/v1/messages")

    def error_body(self, status: int) -> dict[str, Any]:
        kind = "rate_limit_error" if status == 429 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": f"fake upstream {status}"}}

    def tool_results(self) -> list[dict[str, Any]]:
        """Every ``tool_result`` block the model received, oldest first, content as text."""
        found: list[dict[str, Any]] = []
        for req in self.model_requests():
            for message in req.body.get("messages", []):
                content = message.get("content")
                if message.get("role") != "user" or not isinstance(content, list):
                    continue
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        found.append({**block, "content": text_of(block.get("content"))})
        return found

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        tools = {tool.get("name") for tool in body.get("tools") or []}
        last = (body.get("messages") or [{}])[-1]
        content = last.get("content") if isinstance(last, dict) else None
        results = [
            b for b in content or [] if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        model = body.get("model", "claude-fake")
        if results:
            blocks = [("text", FINAL_PREFIX + text_of(results[-1].get("content")))]
        elif "Bash" in tools and self.command:
            blocks = [("text", "I will run the command."), ("tool_use", self.command)]
        else:
            blocks = [("text", "ok")]
        send_sse(handler, anthropic_events(model, blocks))


def anthropic_events(model: str, blocks: list[tuple[str, str]]) -> list[dict[str, Any]]:
    usage = {
        "input_tokens": 10,
        "output_tokens": 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model}
    message |= {"content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": message}]
    stop = "end_turn"
    for index, (kind, value) in enumerate(blocks):
        if kind == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": value}
        else:
            stop = "tool_use"
            start = {"type": "tool_use", "id": f"toolu_fake{index}", "name": "Bash", "input": {}}
            args = {"command": value, "description": "run the scripted command"}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(args)}
        events += [
            {"type": "content_block_start", "index": index, "content_block": start},
            {"type": "content_block_delta", "index": index, "delta": delta},
            {"type": "content_block_stop", "index": index},
        ]
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
        {"type": "message_stop"},
    ]
    return events


# --- OpenAI Responses (Codex) -----------------------------------------------------------------

# Shell tool -> its command argument: Codex's, then Gemini CLI's.
SHELL_TOOLS = {
    "exec_command": "cmd",
    "shell_command": "command",
    "shell": "command",
    "run_shell_command": "command",
}


class FakeResponses(FakeUpstream):
    """``POST /v1/responses`` with streaming SSE, as Codex 0.171 expects it."""

    def is_model_path(self, path: str) -> bool:
        return path.split("?")[0].endswith("/responses")

    def error_body(self, status: int) -> dict[str, Any]:
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return {"error": {"type": kind, "code": kind, "message": f"fake upstream {status}"}}

    def tool_outputs(self) -> list[str]:
        """Every function/custom tool call output the model received, oldest first."""
        found: list[str] = []
        for req in self.model_requests():
            for item in req.body.get("input") or []:
                if isinstance(item, dict) and item.get("type") in {
                    "function_call_output",
                    "custom_tool_call_output",
                }:
                    found.append(text_of(item.get("output")))
        return found

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        items = body.get("input") or []
        outputs = [
            i
            for i in items
            if isinstance(i, dict)
            and i.get("type") in {"function_call_output", "custom_tool_call_output"}
        ]
        offered = {t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)}
        shell = next((name for name in SHELL_TOOLS if name in offered), None)
        if outputs:
            item = message_item(FINAL_PREFIX + text_of(outputs[-1].get("output")))
        elif shell and self.command:
            arguments = json.dumps({SHELL_TOOLS[shell]: self.command})
            item = {"type": "function_call", "id": "fc_fake", "status": "completed"}
            item |= {"call_id": "call_fake", "name": shell, "arguments": arguments}
        else:
            item = message_item("ok")
        send_sse(handler, responses_events(body.get("model", "gpt-fake"), item))


def message_item(text: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": "msg_fake", "role": "assistant", "content": content}


def responses_events(model: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }
    response = {"id": "resp_fake", "object": "response", "model": model}
    return [
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {
            "type": "response.completed",
            "response": {**response, "status": "completed", "output": [item], "usage": usage},
        },
    ]
