"""The neutral shape every format is parsed into and rendered from, plus the rules all formats share.

A translated request goes ``source body -> IR -> target body``; so does a non-streaming response.
The IR is plain dicts and lists (fast to build, cheap to hand around; large values such as tool
schemas and text are shared by reference, never copied):

- request: ``{"model", "system": [str], "messages": [msg], "tools": [tool], "tool_choice",
  "max_tokens", "temperature", "top_p", "stop": [str], "stream", "thinking", "effort"}``
- msg: ``{"role": "user" | "assistant" | "system", "content": [block]}``
- block: ``{"type": "text", "text"}``, ``{"type": "image", "media_type", "data"}`` or
  ``{"type": "image", "url"}``, ``{"type": "tool_call", "id", "name", "args": dict}``,
  ``{"type": "tool_result", "id", "name", "content": [text/image blocks], "is_error"}``,
  ``{"type": "thinking", "family", "raw"}`` (reasoning state, opaque, only valid for ``family``)
- tool: ``{"name", "description", "schema", "custom": bool}``
- response: ``{"id", "model", "content": [block], "stop": STOP, "usage": Usage}``

Must never do I/O, read a clock or import anything outside the standard library.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

FORMATS = ("anthropic", "responses", "chat", "gemini")
FAMILY = {"anthropic": "anthropic", "responses": "openai", "chat": "openai", "gemini": "gemini"}

# IR stop reasons (Anthropic's vocabulary, plus ``content_filter`` and ``error``).
STOPS = ("end_turn", "tool_use", "max_tokens", "stop_sequence", "content_filter", "error")

# Reasoning effort <-> thinking budget, used when one side speaks effort and the other budgets.
EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32000}

# Gemini's documented value that tells it to accept a function call without a thought signature.
GEMINI_SKIP_SIGNATURE = "skip_thought_signature_validator"

# Schema for a freeform (Responses ``custom``) tool when a provider only knows JSON tools.
CUSTOM_TOOL_SCHEMA = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The raw tool input."}},
    "required": ["input"],
}

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


class TranslationError(ValueError):
    """A body cannot be translated (not a JSON object, unknown format); the message says why."""


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise TranslationError(f"unknown API format {name!r}; expected one of {', '.join(FORMATS)}")
    return name


def lookup(table: dict, key: Any, default: Any) -> Any:
    """``table.get(key, default)`` for keys taken from a request body, which may be any JSON."""
    return table.get(key, default) if isinstance(key, str) else default


# Thinking controls go only to models known to accept them: sending ``reasoning`` to gpt-4.1 or
# ``thinking`` to Claude 3.5 is a 400 on every turn. Other models simply run without.
_NO_THINKING = (
    "claude-3-5",
    "claude-3-haiku",
    "claude-3-opus",
    "claude-3-sonnet",
    "claude-2",
    "claude-instant",
)
_REASONING = {
    "anthropic": lambda m: m.startswith("claude") and not m.startswith(_NO_THINKING),
    "openai": lambda m: m.startswith(("o1", "o3", "o4", "gpt-5", "codex")),
    "gemini": lambda m: m.startswith(("gemini-2.5", "gemini-3")),
}
GEMINI_MAX_BUDGET = 24576  # the lowest cap among thinking Gemini models (Flash)


def accepts_thinking(target: str, model: str) -> bool:
    """True when ``model`` of ``target`` format is known to accept thinking/reasoning settings."""
    name = model.rsplit("/", 1)[-1].lower() if isinstance(model, str) else ""
    return _REASONING[FAMILY[target]](name)


def effort_to_budget(effort: str | None) -> int | None:
    return lookup(EFFORT_BUDGET, effort, None)


def budget_to_effort(budget: int | None) -> str | None:
    if not budget:
        return None
    if budget <= 2048:
        return "low"
    return "medium" if budget <= 8192 else "high"


def safe_id(call_id: str) -> str:
    """Anthropic ids must match ``[A-Za-z0-9_-]+``; the same input always gives the same id."""
    if not isinstance(call_id, str):
        call_id = str(call_id)
    if call_id and not _ID_UNSAFE.search(call_id):
        return call_id
    digest = hashlib.sha1(call_id.encode("utf-8")).hexdigest()[:12]
    return (_ID_UNSAFE.sub("_", call_id) or "call") + "_" + digest


def synthetic_call_id(seed: str, index: int) -> str:
    """A deterministic id for a Gemini function call that came without one.

    The same conversation replayed next turn produces the same ids, so tool results still match.
    """
    digest = hashlib.sha1(f"{seed}\x00{index}".encode()).hexdigest()[:20]
    return f"call_rg{digest}"


def is_synthetic_call_id(call_id: str) -> bool:
    return call_id.startswith("call_rg") and len(call_id) == 27


def parse_args(arguments: Any) -> dict:
    """Tool arguments as an object: JSON strings are parsed; anything unusable becomes ``{}``.

    A non-object JSON value is wrapped as ``{"input": value}`` so nothing the model said is lost.
    """
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments)
        except ValueError:
            return {"input": arguments}
        return value if isinstance(value, dict) else {"input": value}
    return {"input": arguments}


# One encoder, built once: ``json.dumps`` with options builds a new encoder on every call.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> str:
    return _ENCODE(value)


def text_of(blocks: list[dict]) -> str:
    """The text of text blocks joined; non-text blocks are skipped."""
    return "\n".join(b["text"] for b in blocks if b.get("type") == "text" and b.get("text"))


def image_data_url(block: dict) -> str:
    if "url" in block:
        return block["url"]
    return f"data:{block.get('media_type', 'image/png')};base64,{block.get('data', '')}"


def image_from_url(value: Any) -> dict | None:
    """An OpenAI ``image_url`` (a URL or ``{"url"}``) as an image block; None without a URL.

    ``data:`` URLs become inline images, anything else stays a URL.
    """
    url = value.get("url") if isinstance(value, dict) else value
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return {"type": "image", "media_type": head or "image/png", "data": data}
    return {"type": "image", "url": url}


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[dict]:
    """The JSON objects in a list taken from a body; anything else in it (or a non-list) is skipped."""
    return [v for v in as_list(value) if isinstance(v, dict)]


def tool(decl: dict, schema: Any, custom: bool = False) -> dict:
    """The IR tool for a declaration that has a ``name`` and may have a ``description``."""
    return {
        "name": decl["name"],
        "description": decl.get("description") or "",
        "schema": schema,
        "custom": custom,
    }


def tool_call(call_id: str, name: str, args: dict) -> dict:
    return {"type": "tool_call", "id": call_id, "name": name, "args": args}


def tool_result(call_id: str, name: str, content: list[dict], is_error: bool = False) -> dict:
    return {
        "type": "tool_result",
        "id": call_id,
        "name": name,
        "content": content,
        "is_error": is_error,
    }


def needs_thinking_dropped(messages: list[dict], family: str) -> bool:
    """True when the last assistant turn called a tool without a leading ``family`` thinking block.

    Anthropic rejects a request with thinking enabled whose final assistant tool-use turn does not
    start with a thinking block; after a provider switch there is no valid block to send, so the
    translated request runs that turn without thinking instead of being rejected.
    """
    for msg in reversed(messages):
        if msg["role"] != "assistant":
            continue
        content = msg["content"]
        if not any(b["type"] == "tool_call" for b in content):
            return False
        first = content[0] if content else {}
        return not (first.get("type") == "thinking" and first.get("family") == family)
    return False


def defer_system(messages: list[dict]) -> list[dict]:
    """Move a system message that splits a tool call from its results to after the results.

    OpenAI requires the tool results to follow the assistant turn that made the calls directly;
    Claude Code may put a ``role:"system"`` item between them.
    """
    if not any(m["role"] == "system" for m in messages):
        return messages
    out: list[dict] = []
    held: list[dict] = []
    for msg in messages:
        waiting = (
            out
            and out[-1]["role"] == "assistant"
            and any(b["type"] == "tool_call" for b in out[-1]["content"])
        )
        if msg["role"] == "system" and (waiting or held):
            held.append(msg)
            continue
        out.append(msg)
        if held and msg["role"] == "user":
            out.extend(held)
            held = []
    return out + held


def split_system(req: dict) -> tuple[list[str], list[dict]]:
    """The request's system texts, then those of system messages, and the other messages.

    For providers that take system text once, ahead of the conversation (Anthropic, Gemini).
    """
    system = list(req["system"])
    messages = []
    for msg in req["messages"]:
        if msg["role"] == "system":
            system.append(text_of(msg["content"]))
        else:
            messages.append(msg)
    return [t for t in system if t], messages


def merge_roles(messages: list[dict]) -> list[dict]:
    """Join consecutive messages of the same role (providers that alternate roles need it)."""
    out: list[dict] = []
    for msg in messages:
        if out and out[-1]["role"] == msg["role"]:
            out[-1] = {"role": msg["role"], "content": out[-1]["content"] + msg["content"]}
        else:
            out.append(msg)
    return out
