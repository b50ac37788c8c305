"""Fake model servers of *other* APIs than the harness speaks, for cross-provider fallback tests.

``FakeGemini`` answers ``generateContent`` / ``streamGenerateContent?alt=sse`` as Gemini does,
and ``FakeAnthropicShell`` is an Anthropic Messages server that plays the Codex script (it
calls Codex's shell tool, whose name the gateway carried over from the Responses request). Both
follow ``fake_upstream``'s script: ask for ``command`` once, then answer with
``FINAL_PREFIX`` + the tool's output. Only reached through the gateway, which translates.

It must never reach the network beyond 127.0.0.1, and never be used outside tests.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from .fake_upstream import (
    FINAL_PREFIX,
    SHELL_TOOLS,
    FakeAnthropic,
    FakeUpstream,
    send_json,
    send_sse,
    send_stream,
    text_of,
)


class FakeGemini(FakeUpstream):
    """``POST /v1beta/models/<model>:(stream)GenerateContent``, answering Claude Code's Bash tool."""

    def is_model_path(self, path: str) -> bool:
        path = path.split("?")[0]
        return path.endswith((":generateContent", ":streamGenerateContent"))

    def error_body(self, status: int) -> dict[str, Any]:
        return {
            "error": {"code": status, "message": f"fake gemini {status}", "status": "UNAVAILABLE"}
        }

    def function_responses(self) -> list[dict[str, Any]]:
        """Every ``functionResponse`` part the model received, oldest first."""
        found = []
        for req in self.model_requests():
            for content in req.body.get("contents") or []:
                for part in content.get("parts") or []:
                    if isinstance(part, dict) and "functionResponse" in part:
                        found.append(part["functionResponse"])
        return found

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        declared = {
            decl.get("name")
            for tool in body.get("tools") or []
            for decl in tool.get("functionDeclarations") or []
        }
        last = (body.get("contents") or [{}])[-1]
        answered = [
            p["functionResponse"] for p in last.get("parts") or [] if "functionResponse" in p
        ]
        if answered:
            response = answered[-1].get("response") or {}
            output = response.get("output", response.get("error", response))
            part = {"text": FINAL_PREFIX + (text_of(output) or json.dumps(output))}
        elif "Bash" in declared and self.command:
            args = {"command": self.command, "description": "run the scripted command"}
            part = {"functionCall": {"name": "Bash", "args": args}}
        else:
            part = {"text": "ok"}
        chunks = [
            {
                "candidates": [{"content": {"role": "model", "parts": [part]}, "index": 0}],
                "responseId": "gem-resp-1",
                "modelVersion": "gemini-fake",
            },
            {
                "candidates": [
                    {"content": {"role": "model", "parts": []}, "finishReason": "STOP", "index": 0}
                ],
                "usageMetadata": {
                    "promptTokenCount": 200,
                    "candidatesTokenCount": 12,
                    "totalTokenCount": 212,
                },
            },
        ]
        if "streamGenerateContent" not in handler.path:
            merged = {**chunks[0], **chunks[1]}
            merged["candidates"] = [
                {**chunks[1]["candidates"][0], "content": chunks[0]["candidates"][0]["content"]}
            ]
            send_json(handler, 200, merged)
            return
        raw = b"".join(b"data: " + json.dumps(c).encode() + b"\r\n\r\n" for c in chunks)
        send_stream(handler, raw)


class FakeAnthropicShell(FakeAnthropic):
    """Anthropic Messages that calls Codex's shell tool (``exec_command`` and kin) once."""

    def answer(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        offered = {tool.get("name") for tool in body.get("tools") or []}
        shell = next((name for name in SHELL_TOOLS if name in offered), None)
        last = (body.get("messages") or [{}])[-1]
        results = [
            b
            for b in last.get("content") or []
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        if results:
            block = {"type": "text", "text": ""}
            delta = {
                "type": "text_delta",
                "text": FINAL_PREFIX + text_of(results[-1].get("content")),
            }
        elif shell and self.command:
            block = {"type": "tool_use", "id": "toolu_codex1", "name": shell, "input": {}}
            delta = {
                "type": "input_json_delta",
                "partial_json": json.dumps({SHELL_TOOLS[shell]: self.command}),
            }
        else:
            block, delta = {"type": "text", "text": ""}, {"type": "text_delta", "text": "ok"}
        stop = "tool_use" if block["type"] == "tool_use" else "end_turn"
        message = {"id": "msg_codex", "type": "message", "role": "assistant", "content": []}
        message |= {"model": body.get("model"), "usage": {"input_tokens": 30, "output_tokens": 1}}
        send_sse(
            handler,
            [
                {"type": "message_start", "message": message},
                {"type": "content_block_start", "index": 0, "content_block": block},
                {"type": "content_block_delta", "index": 0, "delta": delta},
                {"type": "content_block_stop", "index": 0},
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop},
                    "usage": {"output_tokens": 7},
                },
                {"type": "message_stop"},
            ],
        )
