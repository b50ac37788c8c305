"""Anthropic Messages streams: decode upstream events to neutral events, encode them for clients.

The encoder always emits ``message_start`` (with a ``usage`` object), blocks numbered 0, 1, 2 …
each as start → deltas → stop, then ``message_delta`` (stop reason and the full cumulative usage)
and ``message_stop``. A failure mid-stream becomes an ``error`` event, as Anthropic sends it.

Must never do I/O.
"""

from __future__ import annotations

from gateway.translate import ir
from gateway.translate.anthropic import STOP_FROM_IR, STOP_TO_IR
from gateway.translate.stream import Encoder
from gateway.translate.usage import Usage, from_anthropic, to_anthropic

# Anything else (thinking, server tools and their results) is provider-only and dropped.
BLOCK_KINDS = {"text": "text", "tool_use": "tool"}


class AnthropicDecoder:
    """Parsed Anthropic SSE event dicts → neutral stream events."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.complete = False

    def feed(self, ev: object) -> list[dict]:
        if not isinstance(ev, dict):
            return []
        kind = ev.get("type")
        if kind == "content_block_delta":
            delta = ir.as_dict(ev.get("delta"))
            text = delta.get("text", delta.get("partial_json", delta.get("thinking")))
            return (
                [{"t": "delta", "i": ev.get("index"), "text": text}]
                if isinstance(text, str)
                else []
            )
        if kind == "content_block_start":
            block = ir.as_dict(ev.get("content_block"))
            out = [
                {
                    "t": "block",
                    "i": ev.get("index"),
                    "kind": ir.lookup(BLOCK_KINDS, block.get("type"), "thinking"),
                    "id": block.get("id"),
                    "name": block.get("name"),
                }
            ]
            if block.get("type") == "text" and block.get("text"):
                out.append({"t": "delta", "i": ev.get("index"), "text": block["text"]})
            elif block.get("type") == "tool_use" and block.get("input"):
                out.append({"t": "delta", "i": ev.get("index"), "text": ir.dumps(block["input"])})
            return out
        if kind == "content_block_stop":
            return [{"t": "stop_block", "i": ev.get("index")}]
        if kind == "message_start":
            msg = ir.as_dict(ev.get("message"))
            from_anthropic(ir.as_dict(msg.get("usage")), self.usage)
            return [
                {"t": "start", "id": msg.get("id"), "model": msg.get("model")},
                {"t": "usage", "usage": self.usage},
            ]
        if kind == "message_delta":
            from_anthropic(ir.as_dict(ev.get("usage")), self.usage)
            out = [{"t": "usage", "usage": self.usage}]
            reason = ir.as_dict(ev.get("delta")).get("stop_reason")
            if reason:
                out.append({"t": "finish", "stop": ir.lookup(STOP_TO_IR, reason, "end_turn")})
            return out
        if kind == "message_stop":
            self.complete = True
            return [{"t": "end"}]
        if kind == "ping":
            return [{"t": "ping"}]
        if kind == "error":
            err = ir.as_dict(ev.get("error"))
            return [
                {
                    "t": "error",
                    "message": str(err.get("message") or err.get("type") or "upstream error"),
                }
            ]
        return []

    def flush(self) -> list[dict]:
        return []


class AnthropicEncoder(Encoder):
    """Neutral stream events → Anthropic SSE event dicts (``type`` names the SSE event)."""

    def on_start(self) -> list[dict]:
        usage = to_anthropic(self.usage)
        message = {
            "id": "msg_" + ir.safe_id(self.upstream_id or "reins"),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return [{"type": "message_start", "message": message}]

    def on_block_start(self, state: dict) -> list[dict]:
        if state["kind"] == "tool":
            call_id = state["id"] or ir.synthetic_call_id(self.upstream_id, state["index"])
            block = {
                "type": "tool_use",
                "id": ir.safe_id(call_id),
                "name": state["name"],
                "input": {},
            }
        else:
            block = {"type": "text", "text": ""}
        return [{"type": "content_block_start", "index": state["index"], "content_block": block}]

    def on_delta(self, state: dict, text: str) -> list[dict]:
        if state["kind"] == "tool":
            delta = {"type": "input_json_delta", "partial_json": text}
        else:
            delta = {"type": "text_delta", "text": text}
        return [{"type": "content_block_delta", "index": state["index"], "delta": delta}]

    def on_block_stop(self, state: dict) -> list[dict]:
        return [{"type": "content_block_stop", "index": state["index"]}]

    def on_end(self, stop: str) -> list[dict]:
        return [
            {
                "type": "message_delta",
                "delta": {"stop_reason": STOP_FROM_IR.get(stop, stop), "stop_sequence": None},
                "usage": to_anthropic(self.usage),
            },
            {"type": "message_stop"},
        ]

    def on_fail(self, message: str) -> list[dict]:
        return [{"type": "error", "error": {"type": "api_error", "message": message}}]

    def on_ping(self) -> list[dict]:
        return [{"type": "ping"}]
