"""Chat Completions streams: decode upstream chunks to neutral events, encode them for clients.

Upstream tool calls arrive as ``delta.tool_calls[]`` fragments keyed by ``index``; some providers
send the whole arguments string in one fragment, which works the same. A fragment for a tool call
that is already closed (another call started since) cannot be placed in an ordered stream and is
dropped; no provider we know of interleaves calls. The encoder ends with a chunk carrying
``finish_reason``, a usage chunk with empty ``choices`` and the ``[DONE]`` sentinel (the string
``DONE`` below; ``encode_sse`` writes it as ``data: [DONE]``).

Must never do I/O.
"""

from __future__ import annotations

from gateway.translate import ir
from gateway.translate.chat import FINISH_FROM_IR, FINISH_TO_IR
from gateway.translate.stream import Encoder
from gateway.translate.usage import from_chat, to_chat

DONE = "[DONE]"


class ChatDecoder:
    """Parsed Chat chunks (dicts, or the ``[DONE]`` string) → neutral stream events."""

    def __init__(self) -> None:
        self.complete = False
        self.started = False
        self.open: object = None
        self.tools: set[int] = set()
        self.texts = 0

    def _switch(self, key: object, out: list[dict]) -> bool:
        """Make ``key`` the open block; True when it has to be opened."""
        if self.open == key:
            return False
        if self.open is not None:
            out.append({"t": "stop_block", "i": self.open})
        self.open = key
        return True

    def feed(self, ev: object) -> list[dict]:
        if ev == DONE:
            self.complete = True
            return [{"t": "end"}]
        if not isinstance(ev, dict):
            return []
        out: list[dict] = []
        if "error" in ev:
            err = ir.as_dict(ev["error"])
            return [{"t": "error", "message": str(err.get("message") or "upstream error")}]
        if not self.started:
            self.started = True
            out.append({"t": "start", "id": ev.get("id"), "model": ev.get("model")})
        for choice in ir.as_list(ev.get("choices"))[:1]:
            choice = ir.as_dict(choice)
            delta = ir.as_dict(choice.get("delta"))
            self._content(delta, out)
            for tc in ir.as_list(delta.get("tool_calls")):
                self._tool(ir.as_dict(tc), out)
            reason = choice.get("finish_reason")
            if reason:
                if self.open is not None:
                    out.append({"t": "stop_block", "i": self.open})
                    self.open = None
                self.complete = True
                out.append({"t": "finish", "stop": ir.lookup(FINISH_TO_IR, reason, "end_turn")})
        if isinstance(ev.get("usage"), dict):
            out.append({"t": "usage", "usage": from_chat(ev["usage"])})
        return out

    def _content(self, delta: dict, out: list[dict]) -> None:
        text = delta.get("content")
        if not isinstance(text, str) or not text:
            return
        if not (isinstance(self.open, str) and self.open.startswith("text")):
            self.texts += 1
            self._switch(f"text{self.texts}", out)
            out.append({"t": "block", "i": self.open, "kind": "text"})
        out.append({"t": "delta", "i": self.open, "text": text})

    def _tool(self, tc: dict, out: list[dict]) -> None:
        index = tc.get("index", 0)
        key = ("tool", index)
        fn = ir.as_dict(tc.get("function"))
        if index not in self.tools:
            self.tools.add(index)
            self._switch(key, out)
            out.append(
                {"t": "block", "i": key, "kind": "tool", "id": tc.get("id"), "name": fn.get("name")}
            )
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            out.append({"t": "delta", "i": key, "text": args})

    def flush(self) -> list[dict]:
        return []


class ChatEncoder(Encoder):
    """Neutral stream events → Chat chunk dicts, ending with the ``[DONE]`` sentinel."""

    def __init__(self, model: str, custom: set[str] | None = None) -> None:
        super().__init__(model, custom)
        self.tool_count = 0

    def _chunk(self, delta: dict, finish: str | None = None) -> dict:
        return {
            "id": "chatcmpl-" + ir.safe_id(self.upstream_id or "reins"),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def on_start(self) -> list[dict]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def on_block_start(self, state: dict) -> list[dict]:
        if state["kind"] != "tool":
            return []
        state["tool_index"] = self.tool_count
        self.tool_count += 1
        call_id = state["id"] or ir.synthetic_call_id(self.upstream_id, state["index"])
        call = {
            "index": state["tool_index"],
            "id": call_id,
            "type": "function",
            "function": {"name": state["name"], "arguments": ""},
        }
        return [self._chunk({"tool_calls": [call]})]

    def on_delta(self, state: dict, text: str) -> list[dict]:
        if state["kind"] == "tool":
            return [
                self._chunk(
                    {
                        "tool_calls": [
                            {"index": state["tool_index"], "function": {"arguments": text}}
                        ]
                    }
                )
            ]
        return [self._chunk({"content": text})]

    def on_end(self, stop: str) -> list[dict]:
        usage = self._chunk({})
        usage["choices"] = []
        usage["usage"] = to_chat(self.usage)
        return [self._chunk({}, FINISH_FROM_IR.get(stop, "stop")), usage, DONE]

    def on_fail(self, message: str) -> list[dict]:
        return [
            {"error": {"message": message, "type": "server_error", "param": None, "code": None}},
            DONE,
        ]
