"""OpenAI Responses streams: decode upstream events to neutral events, encode them for clients.

The encoder emits ``response.created`` and ``response.in_progress``, then per output item
``output_item.added`` → deltas → ``.done`` events → ``output_item.done``, and always exactly one
terminal event: ``response.completed`` (``response.incomplete`` for a length or content-filter
stop, ``response.failed`` for an upstream failure). Every event carries ``sequence_number``.
Freeform (``custom``) tools get ``custom_tool_call`` items, their input taken from the
``{"input": …}`` arguments the other provider produced.

Must never do I/O.
"""

from __future__ import annotations

import json

from gateway.translate import ir
from gateway.translate.responses import status_of
from gateway.translate.stream import Encoder
from gateway.translate.usage import from_responses, to_responses

_CUSTOM_OPEN = '{"input":"'
_CUSTOM_CLOSE = '"}'


def _escaped(text: str) -> str:
    """``text`` as the inside of a JSON string, so freeform input streams as JSON arguments."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


class ResponsesDecoder:
    """Parsed Responses SSE event dicts → neutral stream events."""

    def __init__(self) -> None:
        self.complete = False
        self.seen: set = set()  # output indexes whose content already streamed
        self.kinds: dict = {}

    def feed(self, ev: object) -> list[dict]:
        if not isinstance(ev, dict):
            return []
        kind = ev.get("type")
        idx = ev.get("output_index")
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            self.seen.add(idx)
            return [{"t": "delta", "i": (idx, ev.get("content_index")), "text": ev.get("delta")}]
        if kind == "response.function_call_arguments.delta":
            self.seen.add(idx)
            return [{"t": "delta", "i": idx, "text": ev.get("delta")}]
        if kind == "response.custom_tool_call_input.delta":
            self.seen.add(idx)
            return [{"t": "delta", "i": idx, "text": _escaped(str(ev.get("delta") or ""))}]
        if kind == "response.content_part.added":
            return [{"t": "block", "i": (idx, ev.get("content_index")), "kind": "text"}]
        if kind == "response.content_part.done":
            return [{"t": "stop_block", "i": (idx, ev.get("content_index"))}]
        if kind == "response.output_item.added":
            return self._item_added(idx, ir.as_dict(ev.get("item")))
        if kind == "response.output_item.done":
            return self._item_done(idx, ir.as_dict(ev.get("item")))
        if kind == "response.created":
            resp = ir.as_dict(ev.get("response"))
            return [{"t": "start", "id": resp.get("id"), "model": resp.get("model")}]
        if kind in ("response.completed", "response.incomplete"):
            return self._terminal(ir.as_dict(ev.get("response")))
        if kind == "response.failed":
            err = ir.as_dict(ir.as_dict(ev.get("response")).get("error"))
            return [
                {"t": "error", "message": str(err.get("message") or "upstream response failed")}
            ]
        if kind == "error":
            return [
                {
                    "t": "error",
                    "message": str(
                        ev.get("message")
                        or ir.as_dict(ev.get("error")).get("message")
                        or "upstream error"
                    ),
                }
            ]
        return []

    def _item_added(self, idx: object, item: dict) -> list[dict]:
        kind = item.get("type")
        self.kinds[idx] = kind
        if kind in ("function_call", "custom_tool_call"):
            out = [
                {
                    "t": "block",
                    "i": idx,
                    "kind": "tool",
                    "id": item.get("call_id"),
                    "name": item.get("name"),
                }
            ]
            if kind == "custom_tool_call":
                out.append({"t": "delta", "i": idx, "text": _CUSTOM_OPEN})
            return out
        if kind == "reasoning":
            return [{"t": "block", "i": idx, "kind": "thinking"}]
        return []

    def _item_done(self, idx: object, item: dict) -> list[dict]:
        kind = self.kinds.get(idx, item.get("type"))
        out: list[dict] = []
        if kind == "function_call":
            if idx not in self.seen and item.get("arguments"):  # sent whole, never streamed
                out.append({"t": "delta", "i": idx, "text": item["arguments"]})
        elif kind == "custom_tool_call":
            if idx not in self.seen and item.get("input"):
                out.append({"t": "delta", "i": idx, "text": _escaped(str(item["input"]))})
            out.append({"t": "delta", "i": idx, "text": _CUSTOM_CLOSE})
        elif kind == "message" and idx not in self.seen:
            for n, part in enumerate(ir.as_list(item.get("content"))):
                text = ir.as_dict(part).get("text")
                if isinstance(text, str) and text:
                    key = (idx, f"done{n}")
                    out += [
                        {"t": "block", "i": key, "kind": "text"},
                        {"t": "delta", "i": key, "text": text},
                        {"t": "stop_block", "i": key},
                    ]
            return out
        return [*out, {"t": "stop_block", "i": idx}]

    def _terminal(self, resp: dict) -> list[dict]:
        self.complete = True
        out = [{"t": "usage", "usage": from_responses(ir.as_dict(resp.get("usage")))}]
        if resp.get("status") == "incomplete":
            reason = ir.as_dict(resp.get("incomplete_details")).get("reason")
            out.append(
                {
                    "t": "finish",
                    "stop": "content_filter" if reason == "content_filter" else "max_tokens",
                }
            )
        return [*out, {"t": "end"}]

    def flush(self) -> list[dict]:
        return []


class ResponsesEncoder(Encoder):
    """Neutral stream events → Responses SSE event dicts (``type`` names the SSE event)."""

    def __init__(self, model: str, custom: set[str] | None = None) -> None:
        super().__init__(model, custom)
        self.seq = -1

    def _ev(self, kind: str, **fields: object) -> dict:
        self.seq += 1
        return {"type": kind, "sequence_number": self.seq, **fields}

    def _response(self, status: str, **extra: object) -> dict:
        resp = {
            "id": "resp_" + ir.safe_id(self.upstream_id or "reins"),
            "object": "response",
            "created_at": 0,
            "status": status,
            "model": self.model,
        }
        return {**resp, "output": [s["item"] for s in self.order if "item" in s], **extra}

    def on_start(self) -> list[dict]:
        return [
            self._ev("response.created", response=self._response("in_progress")),
            self._ev("response.in_progress", response=self._response("in_progress")),
        ]

    def on_block_start(self, state: dict) -> list[dict]:
        idx = state["index"]
        if state["kind"] == "tool":
            call_id = state["id"] or ir.synthetic_call_id(self.upstream_id, idx)
            state["id"] = call_id
            if state["name"] in self.custom:
                item = {
                    "id": f"ctc_{ir.safe_id(call_id)}",
                    "type": "custom_tool_call",
                    "status": "in_progress",
                    "call_id": call_id,
                    "name": state["name"],
                    "input": "",
                }
            else:
                item = {
                    "id": f"fc_{ir.safe_id(call_id)}",
                    "type": "function_call",
                    "status": "in_progress",
                    "call_id": call_id,
                    "name": state["name"],
                    "arguments": "",
                }
            state["item_id"] = item["id"]
            return [self._ev("response.output_item.added", output_index=idx, item=item)]
        state["item_id"] = f"msg_{ir.safe_id(self.upstream_id or 'reins')}_{idx}"
        item = {
            "id": state["item_id"],
            "type": "message",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        part = {"type": "output_text", "text": "", "annotations": []}
        return [
            self._ev("response.output_item.added", output_index=idx, item=item),
            self._ev(
                "response.content_part.added",
                item_id=state["item_id"],
                output_index=idx,
                content_index=0,
                part=part,
            ),
        ]

    def on_delta(self, state: dict, text: str) -> list[dict]:
        where = {"item_id": state["item_id"], "output_index": state["index"]}
        if state["kind"] == "text":
            return [
                self._ev(
                    "response.output_text.delta", **where, content_index=0, delta=text, logprobs=[]
                )
            ]
        if state["name"] in self.custom:
            return []  # freeform input is sent whole once the JSON arguments are complete
        return [self._ev("response.function_call_arguments.delta", **where, delta=text)]

    def on_block_stop(self, state: dict) -> list[dict]:
        where = {"item_id": state["item_id"], "output_index": state["index"]}
        text = "".join(state["buf"])
        if state["kind"] == "text":
            part = {"type": "output_text", "text": text, "annotations": []}
            state["item"] = {
                "id": state["item_id"],
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
            return [
                self._ev(
                    "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
                ),
                self._ev("response.content_part.done", **where, content_index=0, part=part),
                self._ev(
                    "response.output_item.done", output_index=state["index"], item=state["item"]
                ),
            ]
        base = {
            "id": state["item_id"],
            "status": "completed",
            "call_id": state["id"],
            "name": state["name"],
        }
        out = []
        if state["name"] in self.custom:
            value = str(ir.parse_args(text).get("input", ""))
            state["item"] = {**base, "type": "custom_tool_call", "input": value}
            out += [
                self._ev("response.custom_tool_call_input.delta", **where, delta=value),
                self._ev("response.custom_tool_call_input.done", **where, input=value),
            ]
        else:
            if not text:
                text = "{}"
                out.append(self._ev("response.function_call_arguments.delta", **where, delta=text))
            state["item"] = {**base, "type": "function_call", "arguments": text}
            out.append(self._ev("response.function_call_arguments.done", **where, arguments=text))
        return [
            *out,
            self._ev("response.output_item.done", output_index=state["index"], item=state["item"]),
        ]

    def on_end(self, stop: str) -> list[dict]:
        status, incomplete = status_of(stop)
        resp = self._response(status, incomplete_details=incomplete, usage=to_responses(self.usage))
        return [self._ev(f"response.{status}", response=resp)]

    def on_fail(self, message: str) -> list[dict]:
        resp = self._response(
            "failed",
            error={"code": "server_error", "message": message},
            usage=to_responses(self.usage),
        )
        return [self._ev("response.failed", response=resp)]
