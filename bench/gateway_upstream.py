"""An instant fake model upstream for the gateway benchmark: canned answers on raw HTTP/1.1.

Run: ``python bench/gateway_upstream.py --listen ok:PORT --listen 429:PORT2 [--events 2000]``.
Each listener is a gevent ``StreamServer`` with keep-alive and ``TCP_NODELAY``. An ``ok``
listener answers by path suffix: ``…/messages`` (Anthropic Messages JSON, or an SSE stream of
``--events`` events when the body asks for ``"stream": true``), ``…/messages/count_tokens``,
``…/chat/completions`` and ``…/responses`` (OpenAI, JSON or a short SSE stream), ``…/models``.
A ``429`` listener answers every request with 429, ``retry-after: 0`` and a rate-limit error in
the shape of the path's API. ``GET /__stats`` returns how many requests each listening port
served, so the benchmark can check that a gateway really tried its rate-limited primary each time.

Every answer is built once at start: this server must never do per-request work beyond reading
the request, so that its cost is the same for every column of the benchmark.
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from gateway_client import framing
from gevent import socket
from gevent.server import StreamServer

STREAM_FLAG = re.compile(rb'"stream"\s*:\s*true')
USAGE = {
    "input_tokens": 1200,
    "output_tokens": 40,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 800,
}


def response(status: str, content_type: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def chunked_stream(events: list[bytes]) -> list[bytes]:
    """Headers plus the first event in one write, the rest in a second: one chunk per event."""
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    head += b"transfer-encoding: chunked\r\n\r\n"
    chunks = [b"%x\r\n%s\r\n" % (len(e), e) for e in events]
    return [head + chunks[0], b"".join(chunks[1:]) + b"0\r\n\r\n"]


def sse(event: str | None, payload: dict) -> bytes:
    data = json.dumps(payload, separators=(",", ":")).encode()
    return (b"event: %s\n" % event.encode() if event else b"") + b"data: " + data + b"\n\n"


def anthropic_message() -> dict:
    return {
        "id": "msg_01BenchFakeUpstream",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [
            {"type": "text", "text": "I'll list the files first."},
            {"type": "tool_use", "id": "toolu_01Bench", "name": "Bash", "input": {"command": "ls"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": USAGE,
    }


def anthropic_stream(events: int) -> list[bytes]:
    """``events`` SSE events in total: start, block start, deltas, block stop, delta, stop."""
    start = dict(anthropic_message(), content=[], stop_reason=None)
    out = [
        sse("message_start", {"type": "message_start", "message": start}),
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for i in range(max(1, events - 5)):
        delta = {"type": "text_delta", "text": f"token {i} of the answer "}
        out.append(
            sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    out.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
    out.append(
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": events},
            },
        )
    )
    out.append(sse("message_stop", {"type": "message_stop"}))
    return out


def chat_completion() -> dict:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1764460800,
        "model": "gpt-5",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "I'll list the files first."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 40, "total_tokens": 1240},
    }


def chat_stream() -> list[bytes]:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1764460800}
    base["model"] = "gpt-5"
    words = ["I'll ", "list ", "the ", "files ", "first."]
    out = [sse(None, dict(base, choices=[{"index": 0, "delta": {"role": "assistant"}}]))]
    out += [sse(None, dict(base, choices=[{"index": 0, "delta": {"content": w}}])) for w in words]
    out.append(sse(None, dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])))
    out.append(sse(None, dict(base, choices=[], usage=chat_completion()["usage"])))
    out.append(b"data: [DONE]\n\n")
    return out


def openai_response(status: str = "completed") -> dict:
    text = "I'll list the files first."
    message = {
        "type": "message",
        "id": "msg_bench",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1764460800,
        "status": status,
        "model": "gpt-5",
        "output": [message] if status == "completed" else [],
        "usage": {
            "input_tokens": 1200,
            "input_tokens_details": {"cached_tokens": 800},
            "output_tokens": 40,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 1240,
        },
    }


def responses_stream() -> list[bytes]:
    created = openai_response("in_progress")
    done = openai_response()
    item = done["output"][0]
    events = [
        ("response.created", {"response": created}),
        ("response.in_progress", {"response": created}),
        ("response.output_item.added", {"output_index": 0, "item": dict(item, content=[])}),
        (
            "response.output_text.delta",
            {
                "item_id": "msg_bench",
                "output_index": 0,
                "content_index": 0,
                "delta": "I'll list the files first.",
            },
        ),
        ("response.output_item.done", {"output_index": 0, "item": item}),
        ("response.completed", {"response": done}),
    ]
    return [
        sse(name, dict(payload, type=name, sequence_number=n))
        for n, (name, payload) in enumerate(events)
    ]


class Answers:
    """Every answer the upstream can give, pre-serialised."""

    def __init__(self, events: int) -> None:
        js = "application/json"
        self.message = [response("200 OK", js, json.dumps(anthropic_message()).encode())]
        self.message_stream = chunked_stream(anthropic_stream(events))
        self.count_tokens = [response("200 OK", js, b'{"input_tokens":1200}')]
        self.chat = [response("200 OK", js, json.dumps(chat_completion()).encode())]
        self.chat_stream = chunked_stream(chat_stream())
        self.responses = [response("200 OK", js, json.dumps(openai_response()).encode())]
        self.responses_stream = chunked_stream(responses_stream())
        models = {"data": [{"id": "claude-sonnet-4-5", "type": "model"}], "object": "list"}
        self.models = [response("200 OK", js, json.dumps(models).encode())]
        self.not_found = [response("404 Not Found", js, b'{"error":"no such path"}')]
        limit = "429 Too Many Requests"
        retry = "retry-after: 0\r\n"
        anthropic = {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "bench: rate limited"},
        }
        openai = {
            "error": {
                "message": "bench: rate limited",
                "type": "rate_limit_exceeded",
                "code": "rate_limit_exceeded",
            }
        }
        self.limited_anthropic = [response(limit, js, json.dumps(anthropic).encode(), retry)]
        self.limited_openai = [response(limit, js, json.dumps(openai).encode(), retry)]

    def pick(self, mode: str, path: bytes, body: bytes) -> list[bytes]:
        path = path.split(b"?", 1)[0].rstrip(b"/")
        stream = STREAM_FLAG.search(body) is not None
        if mode == "429":
            return self.limited_anthropic if path.endswith(b"/messages") else self.limited_openai
        if path.endswith(b"/messages/count_tokens"):
            return self.count_tokens
        if path.endswith(b"/messages"):
            return self.message_stream if stream else self.message
        if path.endswith(b"/chat/completions"):
            return self.chat_stream if stream else self.chat
        if path.endswith(b"/responses"):
            return self.responses_stream if stream else self.responses
        if path.endswith(b"/models"):
            return self.models
        return self.not_found


class Upstream:
    """The listeners of one process and the count of requests each of them served."""

    def __init__(self, answers: Answers) -> None:
        self.answers = answers
        self.counts: dict[int, int] = {}  # requests served, by listening port

    def serve(self, mode: str, port: int) -> StreamServer:
        self.counts[port] = 0
        server = StreamServer(("127.0.0.1", port), lambda s, a: self.handle(s, mode, port))
        server.start()
        return server

    def handle(self, sock: socket.socket, mode: str, port: int) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        try:
            while True:
                request = read_request(sock, buffer)
                if request is None:
                    return
                method, path, body, close, buffer = request
                if path == b"/__stats":
                    stats = json.dumps(self.counts).encode()
                    parts = [response("200 OK", "application/json", stats)]
                elif method == b"HEAD":
                    parts = [b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"]
                else:
                    self.counts[port] += 1
                    parts = self.answers.pick(mode, path, body)
                for part in parts:
                    sock.sendall(part)
                if close:
                    return
        except OSError:
            return
        finally:
            sock.close()


def read_request(sock: socket.socket, buffer: bytes) -> tuple | None:
    """(method, path, body, close, rest) of the next request, or None when the peer closed."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    method, path, _ = lines[0].split(b" ", 2)
    length, chunked, close = framing(lines[1:])
    length = length or 0  # a request without Content-Length has no body
    if chunked:
        body, buffer = read_chunked(sock, buffer)
    else:
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        body, buffer = buffer[:length], buffer[length:]
    return method, path, body, close, buffer


def read_chunked(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        while b"\r\n" not in buffer:
            buffer += sock.recv(65536)
        size_line, _, buffer = buffer.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(buffer) < size + 2:
            buffer += sock.recv(65536)
        body, buffer = body + buffer[:size], buffer[size + 2 :]
        if size == 0:
            return body, buffer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--listen",
        action="append",
        required=True,
        metavar="MODE:PORT",
        help="a listener: mode ok or 429, and a port on 127.0.0.1 (repeatable)",
    )
    parser.add_argument("--events", type=int, default=2000, help="events in an Anthropic stream")
    args = parser.parse_args()
    upstream = Upstream(Answers(args.events))
    servers = []
    for spec in args.listen:
        mode, _, port = spec.partition(":")
        if mode not in ("ok", "429") or not port.isdigit():
            parser.error(f"--listen {spec!r}: expected ok:PORT or 429:PORT")
        servers.append(upstream.serve(mode, int(port)))
    print("ready", flush=True)
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
