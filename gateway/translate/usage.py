"""Token usage in one neutral shape, read from and written to each provider's usage fields.

Neutral semantics (Anthropic's): ``input_tokens`` are input tokens billed at the plain input
price, *excluding* cache reads and cache writes; ``output_tokens`` include reasoning tokens.
OpenAI and Gemini report cached tokens *inside* their prompt counts, so they are subtracted here:

| provider | input | cache read | cache write | output |
|---|---|---|---|---|
| Anthropic | ``input_tokens`` | ``cache_read_input_tokens`` | ``cache_creation_input_tokens`` | ``output_tokens`` |
| Responses | ``input_tokens - cached_tokens`` | ``input_tokens_details.cached_tokens`` | 0 | ``output_tokens`` |
| Chat | ``prompt_tokens - cached_tokens`` | ``prompt_tokens_details.cached_tokens`` | 0 | ``completion_tokens`` |
| Gemini | ``promptTokenCount - cachedContentTokenCount`` | ``cachedContentTokenCount`` | 0 | ``candidatesTokenCount + thoughtsTokenCount`` |

Must never do I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def prompt_tokens(self) -> int:
        """All input tokens, cached or not (what OpenAI and Gemini call the prompt)."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def from_anthropic(u: dict, into: Usage | None = None) -> Usage:
    """Anthropic usage; fields absent from ``u`` keep their value in ``into`` (stream updates)."""
    usage = into or Usage()
    if "input_tokens" in u:
        usage.input_tokens = _int(u["input_tokens"])
    if "output_tokens" in u:
        usage.output_tokens = _int(u["output_tokens"])
    if "cache_read_input_tokens" in u:
        usage.cache_read_tokens = _int(u["cache_read_input_tokens"])
    if "cache_creation_input_tokens" in u:
        usage.cache_write_tokens = _int(u["cache_creation_input_tokens"])
    return usage


def from_responses(u: dict) -> Usage:
    cached = _int(_dict(u.get("input_tokens_details")).get("cached_tokens"))
    return Usage(
        input_tokens=max(_int(u.get("input_tokens")) - cached, 0),
        output_tokens=_int(u.get("output_tokens")),
        cache_read_tokens=cached,
        reasoning_tokens=_int(_dict(u.get("output_tokens_details")).get("reasoning_tokens")),
    )


def from_chat(u: dict) -> Usage:
    cached = _int(_dict(u.get("prompt_tokens_details")).get("cached_tokens"))
    return Usage(
        input_tokens=max(_int(u.get("prompt_tokens")) - cached, 0),
        output_tokens=_int(u.get("completion_tokens")),
        cache_read_tokens=cached,
        reasoning_tokens=_int(_dict(u.get("completion_tokens_details")).get("reasoning_tokens")),
    )


def from_gemini(u: dict) -> Usage:
    cached = _int(u.get("cachedContentTokenCount"))
    thoughts = _int(u.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=max(_int(u.get("promptTokenCount")) - cached, 0),
        output_tokens=_int(u.get("candidatesTokenCount")) + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def to_anthropic(usage: Usage) -> dict:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }


def to_responses(usage: Usage) -> dict:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def to_chat(usage: Usage) -> dict:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def to_gemini(usage: Usage) -> dict:
    out = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.total_tokens,
    }
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cache_read_tokens:
        out["cachedContentTokenCount"] = usage.cache_read_tokens
    return out


def from_reported(fmt: str, counts: dict[str, int]) -> Usage:
    """Neutral usage from counts stored as the provider reported them.

    ``counts`` has ``input``, ``output``, ``cache_read``, ``cache_write`` and ``reasoning`` as the
    provider named them: OpenAI (``responses``, ``chat``) and Gemini prompt counts include cache
    reads, so those are taken out; Gemini's ``output`` (candidates) excludes its thoughts, so
    ``reasoning`` is added back. Anthropic's counts are already neutral.
    """
    get = counts.get  # spelled out: this runs for every priced answer
    usage = Usage(
        _int(get("input")),
        _int(get("output")),
        _int(get("cache_read")),
        _int(get("cache_write")),
        _int(get("reasoning")),
    )
    if fmt in ("responses", "chat", "gemini"):
        usage.input_tokens = max(usage.input_tokens - usage.cache_read_tokens, 0)
    if fmt == "gemini":
        usage.output_tokens += usage.reasoning_tokens
    return usage


def usage_from_body(fmt: str, body: Any) -> Usage | None:
    """Usage of a non-streaming response body (or of one stream event), None when it has none."""
    if not isinstance(body, dict):
        return None
    if fmt == "anthropic":
        u = body.get("usage") or _dict(body.get("message")).get("usage")
        return from_anthropic(u) if isinstance(u, dict) else None
    if fmt == "responses":
        u = body.get("usage") or _dict(body.get("response")).get("usage")
        return from_responses(u) if isinstance(u, dict) else None
    if fmt == "chat":
        u = body.get("usage")
        return from_chat(u) if isinstance(u, dict) else None
    if fmt == "gemini":
        u = body.get("usageMetadata")
        return from_gemini(u) if isinstance(u, dict) else None
    return None


class StreamUsage:
    """Accumulates usage from a stream of parsed events of one format (passthrough or not).

    Anthropic splits usage over ``message_start`` and ``message_delta``; the others report it
    once (Responses ``response.completed``, Chat's usage chunk, Gemini's last chunk).
    """

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.usage: Usage | None = None

    def feed(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        if self.fmt != "anthropic":
            found = usage_from_body(self.fmt, event)
            if found is not None:
                self.usage = found
            return
        kind = event.get("type")
        if kind == "message_start":
            u = _dict(_dict(event.get("message")).get("usage"))
        elif kind == "message_delta":
            u = _dict(event.get("usage"))
        else:
            return
        self.usage = from_anthropic(u, self.usage)
