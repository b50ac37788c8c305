"""Find and replace the top-level ``"model"`` of a JSON request body without decoding the body.

Routing needs one string out of bodies of 80 KB and more. Decoding and re-encoding them would
cost more than the whole gateway budget, and re-encoding would break byte fidelity (signed
thinking blocks, key order). So this walks the top-level object key by key, skipping values
with the C scanner, and stops at ``"model"`` (Claude Code and Codex put it first). A
``"model"`` nested inside ``messages`` is never mistaken for it. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring

_decoder = json.JSONDecoder()
_FIRST_MODEL = re.compile(
    rb'[ \t\r\n]*\{[ \t\r\n]*"model"[ \t\r\n]*:[ \t\r\n]*("(?:[^"\\\x00-\x1f]|\\.)*")'
)


class BodyError(ValueError):
    """The body is not a JSON object; the message says where it went wrong."""


def find_model(body: bytes) -> tuple[str | None, int, int]:
    """``(model, start, end)``: the top-level model string and the byte span of its JSON literal.

    ``model`` is None (and the span 0, 0) when the object has no top-level string ``model``.
    Raises ``BodyError`` when the body is not a JSON object. Only the part up to the model is
    checked (and that the object is closed): the provider refuses the rest with its own 400.
    """
    if not body.rstrip().endswith(b"}"):
        raise BodyError("the body is not a complete JSON object")
    fast = _FIRST_MODEL.match(body)
    if fast:  # Claude Code and Codex put "model" first: no need to decode the whole body
        literal = fast.group(1)
        if b"\\" not in literal:
            try:
                return literal[1:-1].decode("utf-8"), fast.start(1), fast.end(1)
            except UnicodeDecodeError:
                pass  # let the full scan report it
        else:
            try:
                return json.loads(literal), fast.start(1), fast.end(1)
            except ValueError:
                pass  # an odd escape: let the full scan report it
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the body is not UTF-8 (byte {exc.start})") from None
    if text.isascii():
        return _find(text)
    # Offsets must be byte offsets: map them through the encoded prefix lengths.
    model, start, end = _find(text)
    if model is None:
        return None, 0, 0
    return model, len(text[:start].encode()), len(text[:end].encode())


def replace_model(body: bytes, start: int, end: int, model: str) -> bytes:
    """``body`` with the literal at ``start:end`` replaced by ``model``; every other byte kept."""
    return body[:start] + json.dumps(model).encode() + body[end:]


def _find(text: str) -> tuple[str | None, int, int]:
    pos = _skip_ws(text, 0)
    if not text.startswith("{", pos):
        raise BodyError("the body is not a JSON object")
    pos = _skip_ws(text, pos + 1)
    if text.startswith("}", pos):
        return None, 0, 0
    while True:
        if not text.startswith('"', pos):
            raise BodyError(f"expected a key at character {pos}")
        key, pos = _string(text, pos)
        pos = _skip_ws(text, pos)
        if not text.startswith(":", pos):
            raise BodyError(f"expected ':' at character {pos}")
        pos = _skip_ws(text, pos + 1)
        start = pos
        if key == "model" and text.startswith('"', pos):
            value, end = _string(text, pos)
            return value, start, end
        pos = _skip_ws(text, _skip_value(text, pos))
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
        elif text.startswith("}", pos):
            return None, 0, 0
        else:
            raise BodyError(f"expected ',' or '}}' at character {pos}")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _string(text: str, pos: int) -> tuple[str, int]:
    try:
        return scanstring(text, pos + 1, True)
    except json.JSONDecodeError as exc:
        raise BodyError(f"bad string at character {exc.pos}") from None


def _skip_value(text: str, pos: int) -> int:
    if text.startswith('"', pos):
        return _string(text, pos)[1]
    try:
        return _decoder.raw_decode(text, pos)[1]
    except json.JSONDecodeError as exc:
        raise BodyError(f"bad JSON value at character {exc.pos}: {exc.msg}") from None


def top_level(body: bytes) -> dict:
    """The whole body decoded; only for routing rules that look at the request's shape."""
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise BodyError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BodyError("the body is not a JSON object")
    return value
