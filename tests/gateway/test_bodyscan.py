"""The top-level "model" is found and replaced without decoding the body; nothing else moves."""

from __future__ import annotations

import json

import pytest

from gateway.bodyscan import BodyError, find_model, replace_model


@pytest.mark.parametrize(
    "body, model",
    [
        (b'{"model":"claude-sonnet-4-5","stream":true}', "claude-sonnet-4-5"),
        (b'  {\n "model" : "m1" , "x": 1}', "m1"),
        (b'{"stream":true,"max_tokens":5,"model":"late"}', "late"),
        (b'{"a":{"model":"nested"},"b":["model"],"model":"top"}', "top"),
        (
            b'{"messages":[{"role":"user","content":"\\"model\\": \\"fake\\""}],"model":"real"}',
            "real",
        ),
        (b'{"model":"caf\\u00e9"}', "caf\u00e9"),
        (b"{}", None),
        (b'{"model": 5}', None),
    ],
)
def test_finds_only_the_top_level_model(body: bytes, model: str | None) -> None:
    assert find_model(body)[0] == model


def test_a_nested_model_alone_is_not_a_model() -> None:
    body = json.dumps(
        {"messages": [{"role": "user", "model": "inner"}], "metadata": {"model": "x"}}
    ).encode()
    assert find_model(body) == (None, 0, 0)


def test_span_is_in_bytes_even_after_non_ascii_text() -> None:
    body = '{"system":"héllo wörld ✓","model":"m-1","tail":"ü"}'.encode()
    model, start, end = find_model(body)
    assert model == "m-1"
    assert body[start:end] == b'"m-1"'


def test_replace_keeps_every_other_byte() -> None:
    body = b'{"model" :  "alias",  "thinking":{"signature":"Eq\\u00e9=="}, "z":[1.50, null]}'
    _, start, end = find_model(body)
    rewritten = replace_model(body, start, end, "claude-sonnet-4-5")
    assert rewritten == body.replace(b'"alias"', b'"claude-sonnet-4-5"')


def test_big_claude_code_body_keeps_its_bytes() -> None:
    body = json.dumps(
        {
            "model": "a",
            "system": [
                {"type": "text", "text": "x" * 20000, "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [{"role": "user", "content": "model " * 3000}] * 5,
        }
    ).encode()
    _, start, end = find_model(body)
    assert replace_model(body, start, end, "b")[start + 3 :] == body[end:]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1,2]",
        b'{"model":',
        b'{"model" "x"}',
        b'{"a":1 "model":"x"}',
        b"\xff\xfe",
    ],
)
def test_malformed_bodies_raise_a_clear_error(body: bytes) -> None:
    with pytest.raises(BodyError):
        find_model(body)
