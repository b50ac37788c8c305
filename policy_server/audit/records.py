"""What one audit row holds and how it joins the hash chain. Pure: no I/O, no clock.

A record is a flat dict: the ``audit_events`` columns (minus ``seq`` and the integrity columns)
plus the redacted input. It is stored as canonical JSON in the ``record`` column, and the indexed
columns are copies of its fields, so ``verify`` can tell when someone edited a column directly.

Secrets never reach the store: every string of the tool input, the prompt, the target summary
and the reason passes through ``detectors.redact`` (the same table the policies use) *before*
anything is truncated, so a cut can never leave half a key unrecognised.

Chain: ``record_hash = "sha256:" + sha256(prev_hash + "\\n" + canonical_json(record))``, starting
from ``GENESIS_HASH``. The hash covers the record, not ``seq``: order is carried by the chain.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
from collections.abc import Mapping
from typing import Any

from policy_server.engine.conditions import commands_of
from policy_server.engine.detectors import redact
from policy_server.engine.evaluator import Decision
from policy_server.engine.events import Event

SCHEMA_VERSION = "1"
GENESIS_HASH = "sha256:" + "0" * 64

# The audit_events columns filled from the record, in table order (seq and the integrity
# columns record, prev_hash, record_hash are the writer's).
COLUMNS: tuple[str, ...] = (
    "event_id",
    "decision_id",
    "time_us",
    "received_us",
    "harness",
    "harness_version",
    "hook_event",
    "session_id",
    "turn_id",
    "tool_use_id",
    "agent",
    "run_id",
    "user",
    "host",
    "cwd",
    "tool",
    "target",
    "decision",
    "enforced_decision",
    "reason",
    "rules",
    "shadow_rules",
    "policy_revision",
    "eval_us",
    "degraded",
)
ROW_COLUMNS: tuple[str, ...] = (*COLUMNS, "record", "prev_hash", "record_hash")
_LIST_COLUMNS = frozenset({"rules", "shadow_rules"})

MAX_INPUT_BYTES = 16 * 1024  # tool input or prompt, as JSON, beyond which it is truncated
TARGET_CHARS = 500
MAX_DEPTH = 64  # deeper input is cut: hostile nesting must not exhaust the stack
# Strings longer than this are cut *before* redaction (redaction is linear, but a 50 MB Write
# is still 50 MB to scan). Everything past it is cut later anyway, so no partial secret survives.
_PRECUT_CHARS = 2 * MAX_INPUT_BYTES
_TARGET_PRECUT_CHARS = 8 * TARGET_CHARS
_INT64 = 2**63
_ONE_LINE = str.maketrans({c: " " for c in "\t\n\r\x0b\x0c\x85\u2028\u2029"})


def build_record(
    event: Event,
    decision: Decision,
    *,
    enforced: str,
    event_id: str,
    decision_id: str,
    time_us: int,
    received_us: int,
    eval_us: int,
    degraded: bool = False,
) -> dict[str, Any]:
    """The audit record for ``decision`` on ``event``; ``enforced`` is what the harness was told
    (``responses.enforced_decision``). ``time_us`` is when the event was decided (the client's
    time for events decided offline), ``received_us`` when the server got it."""
    redactor = _Redactor()
    tool_input = redactor.bounded(event.tool_input)
    prompt = None if event.prompt is None else redactor.bounded(event.prompt)
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "decision_id": decision_id,
        "time_us": int(time_us),
        "received_us": int(received_us),
        "harness": event.harness,
        "harness_version": event.harness_version,
        "hook_event": event.event,
        "session_id": event.session_id,
        "turn_id": event.turn_id,
        "tool_use_id": event.tool_use_id,
        "agent": event.agent,
        "run_id": event.run_id,
        "user": event.user,
        "host": event.host,
        "cwd": event.cwd,
        "tool": event.tool,
        "target": target_summary(event),
        # Program names of a shell command, so exports can tell a delete from other exec.
        "programs": sorted({c.program for c in commands_of(event) if c.program}),
        "decision": decision.decision,
        "enforced_decision": enforced,
        "reason": redact(decision.reason),
        "rules": decision.rules,
        "shadow_rules": [rule.id for rule in decision.shadow],
        "policy_revision": decision.revision,
        "eval_us": int(eval_us),
        "degraded": bool(degraded),
        "input_redacted": tool_input,
        "prompt_redacted": prompt,
        # For a UserPromptSubmit the prompt *is* the input, so one flag covers both.
        "input_truncated": redactor.truncated,
    }


def rejected_record(
    harness: str,
    context: Mapping[str, Any],
    payload: Any,
    message: str,
    *,
    event_id: str,
    decision_id: str,
    time_us: int,
) -> dict[str, Any]:
    """The audit record of a hook request that was authenticated but could not be decided
    (malformed JSON, a missing field, a body over the limit): decision ``error``. ``payload``
    is the parsed body when it was JSON, else the raw text (or ``None``); it is stored redacted
    and bounded like any tool input, so the row says what the client actually sent."""
    body = payload if isinstance(payload, Mapping) else {}

    def field(name: str) -> str:
        value = body.get(name)
        return redact(value.translate(_ONE_LINE)[:TARGET_CHARS]) if isinstance(value, str) else ""

    redactor = _Redactor()
    return {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "decision_id": decision_id,
        "time_us": int(time_us),
        "received_us": int(time_us),
        "harness": harness,
        "harness_version": str(context.get("harness_version", "")),
        "hook_event": field("hook_event_name") or "invalid",
        "session_id": field("session_id"),
        "turn_id": field("turn_id"),
        "tool_use_id": field("tool_use_id"),
        "agent": str(context.get("agent", "")),
        "run_id": str(context.get("run_id", "")),
        "user": str(context.get("user", "")),
        "host": str(context.get("host", "")),
        "cwd": field("cwd"),
        "tool": field("tool_name"),
        "target": "",
        "programs": [],
        "decision": "error",
        "enforced_decision": "error",
        "reason": redact(message),
        "rules": [],
        "shadow_rules": [],
        "policy_revision": "",
        "eval_us": 0,
        "degraded": False,
        "input_redacted": None if payload is None else redactor.bounded(payload),
        "prompt_redacted": None,
        "input_truncated": redactor.truncated,
    }


def target_summary(event: Event) -> str:
    """One line saying what the tool acts on: the command, else the first path, else the URL,
    else the MCP tool. Redacted, at most ``TARGET_CHARS`` characters."""
    if event.command is not None:
        text = event.command
    elif event.paths:
        text = event.paths[0]
    elif event.urls:
        text = event.urls[0]
    elif event.tool.startswith("mcp__"):
        text = event.tool
    else:
        return ""
    # Length-preserving until after redaction, so the pre-cut point stays far past the result.
    text = redact(text.translate(_ONE_LINE)[:_TARGET_PRECUT_CHARS])
    text = " ".join(text.split())
    return text if len(text) <= TARGET_CHARS else text[: TARGET_CHARS - 1] + "…"


class _Redactor:
    """Redacts every string of a JSON value and bounds its size; remembers if it cut anything."""

    def __init__(self) -> None:
        self.truncated = False
        self._bound = 0  # upper bound of the JSON size of what ``_redacted`` returned

    def bounded(self, value: Any) -> Any:
        self._bound = 0
        clean = self._redacted(value, 0)
        # ``_bound`` over-estimates the JSON size, so small inputs skip serialising twice.
        if self._bound <= MAX_INPUT_BYTES or _json_size(clean) <= MAX_INPUT_BYTES:
            return clean
        self.truncated = True
        limit = 4096
        while limit >= 64:
            shrunk = _shrunk(clean, limit)
            if _json_size(shrunk) <= MAX_INPUT_BYTES:
                return shrunk
            limit //= 4
        # Too many keys or items to fit even with short strings: keep the head of the JSON.
        head = json.dumps(clean, ensure_ascii=False).encode()[: MAX_INPUT_BYTES - 256]
        return {"_truncated_json": head.decode("utf-8", errors="ignore")}

    def _redacted(self, value: Any, depth: int) -> Any:
        # Bound: a character is at most 6 bytes of JSON (``\u001f``), plus quotes and a separator;
        # a redaction marker (``[REDACTED:github_token]``) is longer than a short secret, so the
        # bound counts the redacted string, never the input.
        if isinstance(value, str):
            if len(value) > _PRECUT_CHARS:
                self.truncated = True
                value = value[:_PRECUT_CHARS]
            value = redact(value)
            self._bound += 6 * len(value) + 4
            return value
        if isinstance(value, int) and not -_INT64 <= value < _INT64:
            # Stored as text: JSON tools (and the OCSF export's parser) read such integers as
            # floats and would silently change the number.
            return self._redacted(str(value), depth)
        self._bound += 32  # a number, a literal, or the brackets and separators of a container
        if value is None or isinstance(value, (bool, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if depth >= MAX_DEPTH:
            self.truncated = True
            return f"…[nested deeper than {MAX_DEPTH} levels]"
        if isinstance(value, Mapping):
            return {
                self._redacted(str(k), depth): self._redacted(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self._redacted(v, depth + 1) for v in value]
        return self._redacted(str(value), depth)


def _shrunk(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        if len(value) <= limit:
            return value
        return f"{value[:limit]}…[{len(value) - limit} more characters]"
    if isinstance(value, dict):
        return {k: _shrunk(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shrunk(v, limit) for v in value]
    return value


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


# Built once: ``json.dumps`` with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(record: Mapping[str, Any]) -> str:
    """The one serialisation that is hashed and stored. Raises ValueError on NaN/infinity,
    which have no JSON spelling and would make the hash depend on the serialiser."""
    return _CANONICAL.encode(record)


# In a Python str every surrogate is a lone one: json.loads joins escaped pairs.
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogates(text: str) -> bool:
    """True when ``text`` holds a code point UTF-8 cannot encode (a JSON ``\\ud800`` escape)."""
    return _SURROGATE.search(text) is not None


def without_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (and keys) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_lone_surrogates(v) for v in value]
    return value


def chain_hash(prev_hash: str, canonical: str) -> str:
    """The hash linking ``canonical`` to the record before it."""
    return "sha256:" + hashlib.sha256((prev_hash + "\n" + canonical).encode()).hexdigest()


def column_values(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """The record's fields as stored in ``COLUMNS``: lists as canonical JSON, booleans as 0/1.

    Raises ValueError naming a missing field, so a malformed record fails its own caller.
    """
    try:
        values = list(_COLUMN_GETTER(record))  # one C call: every audit row goes through here
    except KeyError as exc:
        raise ValueError(f"audit record has no {exc.args[0]!r} field") from None
    for i in _LIST_INDEXES:
        values[i] = canonical_json(values[i]) if values[i] else "[]"
    values[_DEGRADED_INDEX] = int(bool(values[_DEGRADED_INDEX]))
    return tuple(values)


_COLUMN_GETTER = operator.itemgetter(*COLUMNS)
_LIST_INDEXES = tuple(i for i, name in enumerate(COLUMNS) if name in _LIST_COLUMNS)
_DEGRADED_INDEX = COLUMNS.index("degraded")


def row_values(
    record: Mapping[str, Any], canonical: str, prev_hash: str, record_hash: str
) -> tuple[Any, ...]:
    """Values for an INSERT of ``ROW_COLUMNS`` (without ``seq``)."""
    return (*column_values(record), canonical, prev_hash, record_hash)
