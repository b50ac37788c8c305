"""Gemini streamGenerateContent: decode upstream chunks to neutral events, encode for clients.

Each upstream chunk is a whole ``GenerateContentResponse``: text parts stream as text, and a
``functionCall`` part always arrives complete, so it becomes one tool block with its arguments in
a single fragment. Calls without an id get the same deterministic id the non-streaming path
gives them. The stream has no terminator: it is complete once a chunk carries ``finishReason``.

The encoder sends text as it comes, each function call as one part once its arguments are
complete, and a last chunk with ``finishReason`` and ``usageMetadata``.

Must never do I/O.
"""

from __future__ import annotations

from gateway.translate import ir
from gateway.translate.gemini import FINISH_FROM_IR, FINISH_TO_IR, STATUS
from gateway.translate.stream import Encoder
from gateway.translate.usage import from_gemini, to_gemini


class GeminiDecoder:
    """Parsed Gemini stream chunks → neutral stream events."""

    def __init__(self) -> None:
        self.complete = False
        self.started = False
        self.parts = 0
        self.text_open: str | None = None
        self.seed = ""

    def _close_text(self, out: list[dict]) -> None:
        if self.text_open is not None:
            out.append({"t": "stop_block", "i": self.text_open})
            self.text_open = None

    def feed(self, ev: object) -> list[dict]:
        if not isinstance(ev, dict):
            return []
        if "error" in ev:
            err = ir.as_dict(ev["error"])
            return [
                {
                    "t": "error",
                    "message": str(err.get("message") or err.get("status") or "upstream error"),
                }
            ]
        out: list[dict] = []
        if not self.started:
            self.started = True
            self.seed = str(ev.get("responseId") or "")
            out.append({"t": "start", "id": ev.get("responseId"), "model": ev.get("modelVersion")})
        cand = ir.as_dict(next(iter(ir.as_list(ev.get("candidates"))), None))
        for part in ir.as_list(ir.as_dict(cand.get("content")).get("parts")):
            if isinstance(part, dict):
                self._part(part, out)
        reason = cand.get("finishReason")
        if isinstance(ev.get("usageMetadata"), dict):
            out.append({"t": "usage", "usage": from_gemini(ev["usageMetadata"])})
        if reason:
            self._close_text(out)
            self.complete = True
            out.append({"t": "finish", "stop": ir.lookup(FINISH_TO_IR, reason, "end_turn")})
        return out

    def _part(self, part: dict, out: list[dict]) -> None:
        n = self.parts
        self.parts += 1
        if "functionCall" in part:
            self._close_text(out)
            fc = ir.as_dict(part["functionCall"])
            key = f"call{n}"
            call_id = fc.get("id") or ir.synthetic_call_id(self.seed, n)
            out.append(
                {"t": "block", "i": key, "kind": "tool", "id": call_id, "name": fc.get("name")}
            )
            out.append({"t": "delta", "i": key, "text": ir.dumps(ir.as_dict(fc.get("args")))})
            out.append({"t": "stop_block", "i": key})
        elif part.get("thought"):
            self._close_text(out)  # Gemini thoughts are Gemini-only reasoning: not forwarded
        elif isinstance(part.get("text"), str) and part["text"]:
            if self.text_open is None:
                self.text_open = f"text{n}"
                out.append({"t": "block", "i": self.text_open, "kind": "text"})
            out.append({"t": "delta", "i": self.text_open, "text": part["text"]})

    def flush(self) -> list[dict]:
        return [{"t": "end"}] if self.complete else []


class GeminiEncoder(Encoder):
    """Neutral stream events → Gemini ``GenerateContentResponse`` chunks."""

    def _chunk(self, parts: list[dict], **extra: object) -> dict:
        cand = {"content": {"role": "model", "parts": parts}, "index": 0}
        if "finishReason" in extra:
            cand["finishReason"] = extra.pop("finishReason")
        return {
            "candidates": [cand],
            **extra,
            "modelVersion": self.model,
            "responseId": self.upstream_id or "reins",
        }

    def on_delta(self, state: dict, text: str) -> list[dict]:
        return [self._chunk([{"text": text}])] if state["kind"] == "text" else []

    def on_block_stop(self, state: dict) -> list[dict]:
        if state["kind"] != "tool":
            return []
        call = {"name": state["name"], "args": ir.parse_args("".join(state["buf"]))}
        if state["id"] and not ir.is_synthetic_call_id(state["id"]):
            call["id"] = state["id"]
        return [self._chunk([{"functionCall": call}])]

    def on_end(self, stop: str) -> list[dict]:
        reason = FINISH_FROM_IR.get(stop, "STOP")
        return [
            self._chunk([{"text": ""}], finishReason=reason, usageMetadata=to_gemini(self.usage))
        ]

    def on_fail(self, message: str) -> list[dict]:
        return [{"error": {"code": 500, "message": message, "status": STATUS[500]}}]
