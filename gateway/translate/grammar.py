"""Event grammars: check that a whole stream of parsed events is one a client of ``fmt`` accepts.

``validate_stream(fmt, events)`` raises ``StreamGrammarError`` naming the event index and the
rule broken, or returns None. The rules are the ones clients depend on (see the gateway
reference): Anthropic block indices 0, 1, 2 … each start → deltas → stop, tool input that
parses to an object, ``message_delta`` then ``message_stop`` last (or a terminal ``error``);
Responses ``response.created`` first, increasing ``sequence_number``, items added/done in order,
``.done`` texts equal to their deltas, exactly one terminal event last; Chat tool-call indices in
order with id and name first, one ``finish_reason``, ``[DONE]`` last; Gemini whole function calls
with object arguments and ``finishReason`` only on the last chunk. Used by the tests, the e2e
suite and anyone debugging a stream.

Must never do I/O.
"""

from __future__ import annotations

import json
from typing import Any

DONE = "[DONE]"


class StreamGrammarError(ValueError):
    pass


def _object_json(text: str, where: str) -> None:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StreamGrammarError(f"{where}: tool arguments are not JSON: {text[:80]!r}") from exc
    if not isinstance(value, dict):
        raise StreamGrammarError(f"{where}: tool arguments are not a JSON object")


def _check(cond: bool, n: int, message: str) -> None:
    if not cond:
        raise StreamGrammarError(f"event {n}: {message}")


_ANTHROPIC_DELTAS = {
    "text": {"text_delta", "citations_delta"},
    "tool_use": {"input_json_delta"},
    "server_tool_use": {"input_json_delta"},
    "thinking": {"thinking_delta", "signature_delta"},
}


def validate_anthropic(events: list[Any]) -> None:
    state = "start"
    open_block: dict | None = None
    next_index = 0
    for n, ev in enumerate(events):
        _check(
            isinstance(ev, dict) and isinstance(ev.get("type"), str),
            n,
            "not an event object with a type",
        )
        kind = ev["type"]
        _check(state != "stopped", n, f"{kind} after message_stop")
        if kind == "ping":
            continue
        if kind == "error":
            _check(n == len(events) - 1, n, "error must be the last event")
            return
        if state == "start":
            _check(kind == "message_start", n, f"first event must be message_start, got {kind}")
            usage = ev.get("message", {}).get("usage")
            _check(
                isinstance(usage, dict) and isinstance(usage.get("input_tokens"), int),
                n,
                "message_start without usage.input_tokens",
            )
            state = "blocks"
        elif kind == "content_block_start":
            _check(
                state == "blocks" and open_block is None,
                n,
                "block started while another is open or after message_delta",
            )
            _check(
                ev.get("index") == next_index,
                n,
                f"block index {ev.get('index')} but expected {next_index}",
            )
            block = ev.get("content_block") or {}
            open_block = {"type": block.get("type"), "json": []}
            next_index += 1
        elif kind == "content_block_delta":
            _check(
                open_block is not None and ev.get("index") == next_index - 1,
                n,
                "delta for a block that is not open",
            )
            dtype = (ev.get("delta") or {}).get("type")
            allowed = _ANTHROPIC_DELTAS.get(open_block["type"], set())
            _check(dtype in allowed, n, f"{dtype} inside a {open_block['type']} block")
            if dtype == "input_json_delta":
                _check(
                    isinstance(ev["delta"].get("partial_json"), str),
                    n,
                    "input_json_delta without partial_json string",
                )
                open_block["json"].append(ev["delta"]["partial_json"])
        elif kind == "content_block_stop":
            _check(
                open_block is not None and ev.get("index") == next_index - 1,
                n,
                "stop for a block that is not open",
            )
            if open_block["json"] and "".join(open_block["json"]).strip():
                _object_json("".join(open_block["json"]), f"event {n}")
            open_block = None
        elif kind == "message_delta":
            _check(
                state == "blocks" and open_block is None,
                n,
                "message_delta with a block open or twice",
            )
            _check("stop_reason" in (ev.get("delta") or {}), n, "message_delta without stop_reason")
            _check(
                isinstance((ev.get("usage") or {}).get("output_tokens"), int),
                n,
                "message_delta without usage.output_tokens",
            )
            state = "delta"
        elif kind == "message_stop":
            _check(state == "delta", n, "message_stop before message_delta")
            state = "stopped"
    _check(state == "stopped", len(events), "stream does not end with message_stop or error")


def _responses_item_event(ev: dict, n: int, items: dict) -> None:
    kind = ev["type"]
    idx = ev.get("output_index")
    _check(
        idx in items and items[idx]["open"], n, f"{kind} for output_index {idx} that is not open"
    )
    item = items[idx]
    if kind == "response.output_text.delta":
        _check(isinstance(ev.get("delta"), str), n, "text delta is not a string")
        item["text"].append(ev["delta"])
    elif kind == "response.output_text.done":
        _check(
            ev.get("text") == "".join(item["text"]),
            n,
            "output_text.done text differs from its deltas",
        )
    elif kind in (
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
    ):
        _check(isinstance(ev.get("delta"), str), n, "argument delta is not a string")
        item["args"].append(ev["delta"])
    elif kind == "response.function_call_arguments.done":
        _check(
            item["type"] == "function_call", n, "arguments for an item that is not a function_call"
        )
        _check(
            ev.get("arguments") == "".join(item["args"]),
            n,
            "arguments.done differs from its deltas",
        )
        _object_json(ev["arguments"], f"event {n}")
    elif kind == "response.custom_tool_call_input.done":
        _check(
            ev.get("input") == "".join(item["args"]), n, "custom input.done differs from its deltas"
        )


def validate_responses(events: list[Any]) -> None:
    items: dict = {}
    last_seq = -1
    for n, ev in enumerate(events):
        _check(
            isinstance(ev, dict) and isinstance(ev.get("type"), str),
            n,
            "not an event object with a type",
        )
        kind = ev["type"]
        seq = ev.get("sequence_number")
        _check(isinstance(seq, int) and seq > last_seq, n, f"sequence_number {seq} not increasing")
        last_seq = seq
        if n == 0:
            _check(
                kind == "response.created", n, f"first event must be response.created, got {kind}"
            )
        if kind in ("response.completed", "response.incomplete", "response.failed", "error"):
            _check(n == len(events) - 1, n, f"{kind} must be the last event")
            resp = ev.get("response") or {}
            if kind != "error":
                _check(
                    resp.get("status") == kind.split(".")[1],
                    n,
                    "terminal status differs from event",
                )
            if kind in ("response.completed", "response.incomplete"):
                _check(
                    not any(i["open"] for i in items.values()), n, f"{kind} with items still open"
                )
                _check(
                    len(resp.get("output") or []) == len(items),
                    n,
                    "response.output does not list every item",
                )
                _check(isinstance(resp.get("usage"), dict), n, f"{kind} without usage")
            return
        if kind == "response.output_item.added":
            _check(
                ev.get("output_index") == len(items),
                n,
                f"output_index {ev.get('output_index')} but expected {len(items)}",
            )
            _check(
                not any(i["open"] for i in items.values()), n, "item added while another is open"
            )
            items[len(items)] = {
                "type": (ev.get("item") or {}).get("type"),
                "open": True,
                "text": [],
                "args": [],
            }
        elif kind == "response.output_item.done":
            idx = ev.get("output_index")
            _check(
                idx in items and items[idx]["open"],
                n,
                f"output_item.done for {idx} that is not open",
            )
            _check(
                (ev.get("item") or {}).get("type") == items[idx]["type"],
                n,
                "item type changed between added and done",
            )
            items[idx]["open"] = False
        elif kind.startswith(
            (
                "response.output_text.",
                "response.function_call_arguments.",
                "response.custom_tool_call_input.",
                "response.content_part.",
            )
        ):
            _responses_item_event(ev, n, items)
    raise StreamGrammarError(
        "stream ends without response.completed, response.incomplete or response.failed"
    )


def validate_chat(events: list[Any]) -> None:
    _check(bool(events) and events[-1] == DONE, len(events), "stream does not end with [DONE]")
    tools: dict[int, list[str]] = {}
    finished = False
    for n, ev in enumerate(events[:-1]):
        _check(isinstance(ev, dict), n, "chunk is not an object")
        if "error" in ev:
            _check(n == len(events) - 2, n, "error chunk must be followed only by [DONE]")
            return
        _check(isinstance(ev.get("choices"), list), n, "chunk without a choices list")
        for choice in ev["choices"]:
            delta = choice.get("delta") or {}
            _check(
                not finished or not (delta.get("content") or delta.get("tool_calls")),
                n,
                "content after finish_reason",
            )
            for tc in delta.get("tool_calls") or []:
                idx = tc.get("index")
                _check(isinstance(idx, int), n, "tool call without an integer index")
                if idx not in tools:
                    _check(idx == len(tools), n, f"tool call index {idx} but expected {len(tools)}")
                    _check(
                        bool(tc.get("id")) and bool((tc.get("function") or {}).get("name")),
                        n,
                        "first fragment of a tool call lacks id or name",
                    )
                    tools[idx] = []
                tools[idx].append((tc.get("function") or {}).get("arguments") or "")
            if choice.get("finish_reason"):
                _check(not finished, n, "finish_reason twice")
                finished = True
    _check(finished, len(events), "stream has no finish_reason")
    for idx, parts in tools.items():
        if "".join(parts).strip():
            _object_json("".join(parts), f"tool call {idx}")


def validate_gemini(events: list[Any]) -> None:
    _check(bool(events), 0, "empty stream")
    finished = False
    for n, ev in enumerate(events):
        _check(isinstance(ev, dict), n, "chunk is not an object")
        if "error" in ev:
            _check(n == len(events) - 1, n, "error must be the last chunk")
            return
        _check(not finished, n, "chunk after the one with finishReason")
        for cand in ev.get("candidates") or []:
            for part in (cand.get("content") or {}).get("parts") or []:
                if "functionCall" in part:
                    fc = part["functionCall"]
                    _check(
                        isinstance(fc.get("name"), str) and isinstance(fc.get("args"), dict),
                        n,
                        "functionCall needs a name and object args",
                    )
            if cand.get("finishReason"):
                finished = True
        usage = ev.get("usageMetadata")
        counts = [v for k, v in (usage or {}).items() if k.endswith("Count")]
        _check(
            all(isinstance(v, int) for v in counts),
            n,
            "usageMetadata token counts must be integers",
        )
    _check(finished, len(events), "stream has no finishReason")


VALIDATORS = {
    "anthropic": validate_anthropic,
    "responses": validate_responses,
    "chat": validate_chat,
    "gemini": validate_gemini,
}


def validate_stream(fmt: str, events: list[Any]) -> None:
    """Raise ``StreamGrammarError`` unless ``events`` is a complete, well-formed ``fmt`` stream."""
    VALIDATORS[fmt](events)
