"""Property tests: translators never raise on valid input and every produced stream is valid.

Valid inputs are generated in the neutral form and rendered into each format by the package's
own renderers and stream encoders (whose output is itself checked against the grammar), then
translated into every other format.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.translate import (
    FORMATS,
    StreamTranslator,
    render_request,
    translate_request,
    validate_stream,
)
from gateway.translate.api import _ENCODERS
from gateway.translate.usage import Usage

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PAIRS = [(s, t) for s in FORMATS for t in FORMATS if s != t]

names = st.sampled_from(["Bash", "Read", "Edit", "apply_patch", "mcp__github__search"])
ids = st.from_regex(r"(toolu|call)_[A-Za-z0-9]{1,12}", fullmatch=True)
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), text)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
args = st.dictionaries(st.text(min_size=1, max_size=10), json_value, max_size=4)
image = st.builds(
    lambda d: {"type": "image", "media_type": "image/png", "data": d},
    st.from_regex(r"[A-Za-z0-9+/]{4,16}={0,2}", fullmatch=True),
)


@st.composite
def conversations(draw) -> dict:
    tools = [
        {
            "name": n,
            "description": draw(text),
            "schema": {"type": "object", "properties": {}},
            "custom": False,
        }
        for n in sorted(set(draw(st.lists(names, min_size=1, max_size=4))))
    ]
    messages: list[dict] = []
    pending: list[dict] = []
    for turn in range(draw(st.integers(1, 5))):
        user = [
            {
                "type": "tool_result",
                "id": c["id"],
                "name": c["name"],
                "content": [{"type": "text", "text": draw(text)}],
                "is_error": draw(st.booleans()),
            }
            for c in pending
        ]
        user += draw(
            st.lists(
                st.one_of(st.builds(lambda t: {"type": "text", "text": t}, text), image),
                min_size=0 if pending else 1,
                max_size=2,
            )
        )
        messages.append({"role": "user", "content": user})
        if draw(st.booleans()):
            messages.append({"role": "system", "content": [{"type": "text", "text": draw(text)}]})
        calls = [
            {
                "type": "tool_call",
                "id": f"{draw(ids)}_{turn}_{n}",
                "name": draw(st.sampled_from([t["name"] for t in tools])),
                "args": draw(args),
            }
            for n in range(draw(st.integers(0, 2)))
        ]
        lead = (
            [
                {
                    "type": "thinking",
                    "family": "anthropic",
                    "raw": {"type": "thinking", "thinking": "t", "signature": "s"},
                }
            ]
            if draw(st.booleans())
            else []
        )
        said = [{"type": "text", "text": draw(text)}] if draw(st.booleans()) or not calls else []
        messages.append({"role": "assistant", "content": lead + said + calls})
        pending = calls
    if pending:
        messages.append(
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "id": c["id"],
                        "name": c["name"],
                        "content": [{"type": "text", "text": "ok"}],
                        "is_error": False,
                    }
                    for c in pending
                ],
            }
        )
    choice = draw(
        st.sampled_from(
            [
                None,
                {"type": "auto"},
                {"type": "any"},
                {"type": "none"},
                {"type": "tool", "name": tools[0]["name"]},
            ]
        )
    )
    return {
        "model": "m",
        "system": draw(st.lists(text, max_size=2)),
        "messages": messages,
        "tools": tools,
        "tool_choice": choice,
        "max_tokens": draw(st.sampled_from([None, 1024, 64000])),
        "temperature": draw(st.sampled_from([None, 0.0, 1.0])),
        "top_p": None,
        "stop": [],
        "stream": draw(st.booleans()),
        "thinking": draw(st.booleans()),
        "budget": draw(st.sampled_from([None, 2048, 30000])),
        "effort": draw(st.sampled_from([None, "low", "high"])),
        "output": draw(st.sampled_from([None, {"schema": None}, {"schema": {"type": "object"}}])),
    }


def tool_calls(fmt: str, body: dict) -> list[str]:
    """Tool-call ids in a request body, in order (None where the format has no id)."""
    if fmt == "anthropic":
        return [b["id"] for m in body["messages"] for b in m["content"] if b["type"] == "tool_use"]
    if fmt == "responses":
        return [
            i["call_id"]
            for i in body["input"]
            if i.get("type") in ("function_call", "custom_tool_call")
        ]
    if fmt == "chat":
        return [c["id"] for m in body["messages"] for c in m.get("tool_calls", [])]
    return [
        p["functionCall"].get("id")
        for c in body["contents"]
        for p in c["parts"]
        if "functionCall" in p
    ]


@SETTINGS
@given(conversations())
def test_request_translation_never_raises_and_keeps_every_tool_call(ir: dict) -> None:
    for source in FORMATS:
        body = json.loads(json.dumps(render_request(ir, source, "m")))
        expected = tool_calls(source, body)
        for target in FORMATS:
            out = translate_request(body, source, target, "target-model")
            json.dumps(out)
            assert len(tool_calls(target, out)) == len(expected)
            if target == "anthropic":
                back = tool_calls("anthropic", out)
                assert back == expected or source == "gemini"


# --- streams ---------------------------------------------------------------------------------


@st.composite
def ir_streams(draw) -> list[dict]:
    events: list[dict] = [
        {"t": "start", "id": draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)), "model": "up"}
    ]
    for i in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            events.append({"t": "block", "i": i, "kind": "text"})
            events += [
                {"t": "delta", "i": i, "text": t}
                for t in draw(st.lists(text, min_size=1, max_size=4))
            ]
        else:
            events.append(
                {
                    "t": "block",
                    "i": i,
                    "kind": "tool",
                    "id": f"toolu_{i}{draw(st.from_regex(r'[a-z]{0,6}', fullmatch=True))}",
                    "name": draw(names),
                }
            )
            raw = json.dumps(draw(args))
            cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=3)))
            pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
            events += [{"t": "delta", "i": i, "text": p} for p in pieces if p]
        events.append({"t": "stop_block", "i": i})
    usage = Usage(*draw(st.tuples(*[st.integers(0, 10**6)] * 4)))
    events += [
        {"t": "usage", "usage": usage},
        {"t": "finish", "stop": draw(st.sampled_from(["end_turn", "tool_use", "max_tokens"]))},
        {"t": "end"},
    ]
    return events


def encode(fmt: str, events: list[dict]) -> list:
    encoder = _ENCODERS[fmt]("upstream-model")
    out: list = []
    for ev in events:
        out += encoder.feed(ev)
    return out + encoder.finish()


def rebuilt(events: list) -> tuple[str, list[tuple[str, dict]]]:
    """Text and tool calls of an Anthropic client stream."""
    text, calls = "", []
    for ev in events:
        if ev["type"] == "content_block_start" and ev["content_block"]["type"] == "tool_use":
            calls.append([ev["content_block"]["name"], ""])
        elif ev["type"] == "content_block_delta":
            if ev["delta"]["type"] == "text_delta":
                text += ev["delta"]["text"]
            else:
                calls[-1][1] += ev["delta"]["partial_json"]
    return text, [(n, json.loads(a or "{}")) for n, a in calls]


@SETTINGS
@given(ir_streams(), st.data())
def test_every_translated_stream_is_valid_and_loses_nothing(ir_events: list[dict], data) -> None:
    reference = rebuilt(encode("anthropic", ir_events))
    for upstream, client in PAIRS:
        upstream_events = encode(upstream, ir_events)
        validate_stream(upstream, upstream_events)
        tr = StreamTranslator(upstream, client, "client-model")
        out = [e for ev in upstream_events for e in tr.feed(ev)] + tr.finish()
        validate_stream(client, out)
        assert not tr.failed
        if client != "anthropic":
            back = StreamTranslator(client, "anthropic", "m")
            out = [e for ev in out for e in back.feed(ev)] + back.finish()
        assert rebuilt(out) == reference


@SETTINGS
@given(ir_streams(), st.data())
def test_a_stream_cut_anywhere_still_ends_well_formed(ir_events: list[dict], data) -> None:
    upstream, client = data.draw(st.sampled_from(PAIRS))
    upstream_events = encode(upstream, ir_events)
    cut = data.draw(st.integers(0, len(upstream_events)))
    tr = StreamTranslator(upstream, client, "client-model")
    out = [e for ev in upstream_events[:cut] for e in tr.feed(ev)]
    out += tr.fail("read timed out") if data.draw(st.booleans()) else tr.finish()
    validate_stream(client, out)


# --- malformed upstream input ------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "type",
        "index",
        "delta",
        "content_block",
        "message",
        "usage",
        "text",
        "partial_json",
        "id",
        "name",
        "stop_reason",
        "output_index",
        "content_index",
        "item",
        "arguments",
        "call_id",
        "response",
        "status",
        "choices",
        "finish_reason",
        "tool_calls",
        "function",
        "candidates",
        "content",
        "parts",
        "functionCall",
        "args",
        "finishReason",
        "usageMetadata",
        "error",
        "sequence_number",
    ]
)
_TYPES = st.sampled_from(
    [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "tool_use",
        "text_delta",
        "input_json_delta",
        "response.created",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.output_text.delta",
        "response.function_call_arguments.delta",
        "response.completed",
        "response.failed",
        "function_call",
        "message",
        "custom_tool_call",
        "error",
    ]
)
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), _TYPES, st.text(max_size=5))
_VALUE = st.recursive(
    _LEAF, lambda i: st.lists(i, max_size=3) | st.dictionaries(_KEYS, i, max_size=5), max_leaves=25
)
_EVENT = st.one_of(st.just("[DONE]"), st.dictionaries(_KEYS, _VALUE, max_size=6))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_EVENT, max_size=12), st.sampled_from(PAIRS), st.booleans())
def test_malformed_upstream_events_never_break_the_client_stream(
    events: list, pair: tuple[str, str], fail: bool
) -> None:
    tr = StreamTranslator(*pair, "client-model")
    out = [e for ev in events for e in tr.feed(ev)]
    out += tr.fail("upstream broke") if fail else tr.finish()
    validate_stream(pair[1], out)
    json.dumps(out)
