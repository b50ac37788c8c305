"""Usage rows: what one model request cost, and how to read its token counts cheaply.

``UsageRecord`` is filled on the request path with plain assignments only. The token counts are
extracted later, by the background recorder, from a few windows of the response: the head of a
stream (Anthropic ``message_start``) and its tail (``message_delta``, ``response.completed``,
Chat's usage chunk), or the end of a JSON body. So a 2,000-event stream is never re-parsed.
Counts are stored as each provider reports them (OpenAI input includes cached tokens;
Anthropic's does not), next to the format, so pricing can apply the right semantics.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

_scan = json.JSONDecoder().scan_once
# A literal first, so the engine scans with memchr instead of trying every offset.
_FRAMING = re.compile(rb"\r\n[0-9a-fA-F]+(?:;[^\r\n]*)?\r\n")
_FIRST_SIZE = re.compile(rb"[0-9a-fA-F]+(?:;[^\r\n]*)?\r\n")
USAGE_KEY = b'"usage":'
GEMINI_USAGE_KEY = b'"usageMetadata":'

COLUMNS = (
    "request_id",
    "time_us",
    "user",
    "token_id",
    "agent",
    "run_id",
    "session_id",
    "inbound",
    "endpoint",
    "route",
    "provider",
    "model",
    "stream",
    "status",
    "outcome",
    "attempts",
    "attempt_log",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "latency_us",
    "ttfb_us",
    "request_bytes",
    "response_bytes",
    "cost_usd",
)
INSERT_SQL = (
    f"INSERT OR IGNORE INTO usage ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)


@dataclass(slots=True)
class UsageRecord:
    request_id: str
    time_us: int
    inbound: str
    endpoint: str
    user: str = ""
    token_id: int | None = None
    agent: str = ""
    run_id: str = ""
    session_id: str = ""
    route: str = ""
    provider: str = ""
    model: str = ""
    stream: bool = False
    status: int = 0
    outcome: str = "ok"
    attempts: list[dict] = field(default_factory=list)
    latency_us: int = 0
    ttfb_us: int | None = None
    request_bytes: int = 0
    response_bytes: int = 0
    # Raw windows of the response the counts are read from (dropped once extracted).
    head: bytes = b""
    tail: bytes = b""
    framed: bool = False  # the windows (and response_body) still carry chunked framing
    tokens: dict[str, int] = field(default_factory=dict)
    # Only when the route logs bodies.
    request_body: bytes | None = None
    response_body: bytes | None = None
    # Filled by gateway.costing when the row is written (None: no usage, or no price), or
    # already on the request path by the cost header (``priced``: counts and cost are final).
    cost_usd: Decimal | None = None
    priced: bool = False
    cost_pico: int | None = None  # the cost header's exact int form, made Decimal off the path
    budget: Any = None  # (BudgetBook, Decision) of gateway.budget_guard, until settled

    def row(self) -> tuple:
        t = self.tokens
        return (
            self.request_id,
            self.time_us,
            self.user,
            self.token_id,
            self.agent,
            self.run_id,
            self.session_id,
            self.inbound,
            self.endpoint,
            self.route,
            self.provider,
            self.model,
            int(self.stream),
            self.status,
            self.outcome,
            len(self.attempts),
            orjson.dumps(self.attempts).decode(),
            t.get("input"),
            t.get("output"),
            t.get("cache_read"),
            t.get("cache_write"),
            t.get("reasoning"),
            self.latency_us,
            self.ttfb_us,
            self.request_bytes,
            self.response_bytes,
            None if self.cost_usd is None else float(self.cost_usd),
        )


# (our name, the provider's name) of the counts read straight from a usage object.
_ANTHROPIC_FIELDS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache_read", "cache_read_input_tokens"),
    ("cache_write", "cache_creation_input_tokens"),
)
_GEMINI_FIELDS = (
    ("input", "promptTokenCount"),
    ("output", "candidatesTokenCount"),
    ("cache_read", "cachedContentTokenCount"),
    ("reasoning", "thoughtsTokenCount"),
)
_RESPONSES_FIELDS = (("input", "input_tokens"), ("output", "output_tokens"))
_CHAT_FIELDS = (("input", "prompt_tokens"), ("output", "completion_tokens"))


def extract_tokens(fmt: str, head: bytes, tail: bytes) -> dict[str, int]:
    """Token counts from the first and last windows of a response (stream or JSON body)."""
    if fmt == "gemini":  # usageMetadata, on the last chunk of a stream
        usage = _usage_object(tail or head, last=True, key=GEMINI_USAGE_KEY) or {}
        return _pick(usage, _GEMINI_FIELDS)
    first = _usage_object(head, last=False) if head else None
    final = _usage_object(tail, last=True) if tail else None
    if fmt == "anthropic":  # message_start has the input counts, message_delta the final ones
        merged = {**first, **final} if first and final else first or final or {}
        return _pick(merged, _ANTHROPIC_FIELDS)
    usage = final or first or {}
    if fmt == "responses":
        counts = _pick(usage, _RESPONSES_FIELDS)
        details_in, details_out = "input_tokens_details", "output_tokens_details"
    else:
        counts = _pick(usage, _CHAT_FIELDS)
        details_in, details_out = "prompt_tokens_details", "completion_tokens_details"
    cached = (usage.get(details_in) or {}).get("cached_tokens")
    reasoning = (usage.get(details_out) or {}).get("reasoning_tokens")
    if isinstance(cached, int):
        counts["cache_read"] = cached
    if isinstance(reasoning, int):
        counts["reasoning"] = reasoning
    return counts


def unframe(data: bytes) -> bytes:
    """``data`` without chunk-size lines. Safe on SSE and JSON: neither has a bare CRLF
    followed by a line of hex digits (JSON escapes CR and LF; SSE lines have a field name)."""
    first = _FIRST_SIZE.match(data)
    return _FRAMING.sub(b"", data[first.end() :] if first else data)


def _pick(usage: dict, fields: tuple[tuple[str, str], ...]) -> dict[str, int]:
    return {ours: usage[theirs] for ours, theirs in fields if isinstance(usage.get(theirs), int)}


def _usage_object(window: bytes, last: bool, key: bytes = USAGE_KEY) -> dict | None:
    """The object after the first (or last) ``"usage":`` key (or ``key``) in ``window``.

    Inside JSON strings a quote is always escaped, so ``"usage":`` only matches a real key.
    """
    pos = window.rfind(key) if last else window.find(key)
    while pos >= 0:
        text = window[pos + len(key) : pos + len(key) + 4096].decode("utf-8", "replace")
        try:  # the C scanner itself: raw_decode's Python wrapper costs a third of the call
            value = _scan(text, len(text) - len(text.lstrip()))[0]
        except (StopIteration, ValueError):
            value = None
        if isinstance(value, dict):
            return value
        # "usage": null in an early Chat chunk, or a window cut mid-object: look further.
        pos = window.rfind(key, 0, pos) if last else window.find(key, pos + 1)
    return None
