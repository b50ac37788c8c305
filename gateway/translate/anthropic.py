"""Anthropic Messages bodies <-> IR: requests, non-streaming responses and error bodies.

Parsing keeps what another provider can use; ``cache_control``, the Claude Code billing
pseudo-header system block and server tools (web search …) are dropped when translating, because
other providers reject or cannot run them. Signed ``thinking``/``redacted_thinking`` blocks become
opaque ``anthropic`` reasoning state that only an Anthropic target gets back, byte for byte.

Must never do I/O.
"""

from __future__ import annotations

from typing import Any

from gateway.translate import ir
from gateway.translate.usage import Usage, from_anthropic, to_anthropic

BILLING_HEADER = "x-anthropic-billing-header:"
STOP_TO_IR = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "refusal": "content_filter",
    "pause_turn": "end_turn",
    "model_context_window_exceeded": "max_tokens",
}
STOP_FROM_IR = {"content_filter": "refusal", "error": "end_turn"}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _system_texts(system: Any) -> list[str]:
    if isinstance(system, str):
        return [system] if system else []
    return [
        b["text"]
        for b in ir.as_list(system)
        if isinstance(b, dict)
        and isinstance(b.get("text"), str)
        and b["text"]
        and not b["text"].startswith(BILLING_HEADER)
    ]


def _image(source: dict) -> dict | None:
    if source.get("type") == "base64":
        return {
            "type": "image",
            "media_type": source.get("media_type", ""),
            "data": source.get("data", ""),
        }
    if source.get("type") == "url" and source.get("url"):
        return {"type": "image", "url": source["url"]}
    return None


def _result_content(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out = []
    for b in ir.dicts(content):
        if b.get("type") == "text" and isinstance(b.get("text"), str):
            out.append({"type": "text", "text": b["text"]})
        elif b.get("type") == "image":
            img = _image(ir.as_dict(b.get("source")))
            if img:
                out.append(img)
    return out


def parse_block(b: dict, names: dict[str, str]) -> dict | None:
    kind = b.get("type")
    if kind == "text":
        return {"type": "text", "text": b["text"]} if isinstance(b.get("text"), str) else None
    if kind == "image":
        return _image(ir.as_dict(b.get("source")))
    if kind == "tool_use":
        call_id = str(b.get("id") or "")
        names[call_id] = str(b.get("name") or "")
        return ir.tool_call(call_id, names[call_id], ir.parse_args(b.get("input")))
    if kind == "tool_result":
        call_id = str(b.get("tool_use_id") or "")
        content = _result_content(b.get("content"))
        return ir.tool_result(call_id, names.get(call_id, ""), content, bool(b.get("is_error")))
    if kind in ("thinking", "redacted_thinking"):
        return {"type": "thinking", "family": "anthropic", "raw": b}
    return None


def _parse_messages(messages: Any) -> list[dict]:
    names: dict[str, str] = {}
    out = []
    for m in ir.dicts(messages):
        role = m.get("role")
        content = m.get("content")
        if role == "system":
            texts = _system_texts(content)
            if texts:
                out.append(
                    {"role": "system", "content": [{"type": "text", "text": t} for t in texts]}
                )
            continue
        if role not in ("user", "assistant"):
            continue
        if isinstance(content, str):
            blocks = [{"type": "text", "text": content}] if content else []
        else:
            blocks = [p for p in (parse_block(b, names) for b in ir.dicts(content)) if p]
        out.append({"role": role, "content": blocks})
    return out


def _parse_tool_choice(tc: Any) -> dict | None:
    tc = ir.as_dict(tc)
    kind = tc.get("type")
    if kind == "tool" and tc.get("name"):
        return {"type": "tool", "name": tc["name"]}
    if kind in ("auto", "any", "none"):
        return {"type": kind}
    return None


def parse_request(body: dict) -> dict:
    thinking = ir.as_dict(body.get("thinking"))
    enabled = thinking.get("type") in ("enabled", "adaptive")
    budget = thinking.get("budget_tokens") if thinking.get("type") == "enabled" else None
    effort = ir.as_dict(body.get("output_config")).get("effort")
    tools = [
        ir.tool(t, t["input_schema"])
        for t in ir.dicts(body.get("tools"))
        # Server tools (web search, code execution …) have no input schema: Anthropic-only.
        if t.get("name") and isinstance(t.get("input_schema"), dict)
    ]
    return {
        "model": body.get("model"),
        "system": _system_texts(body.get("system")),
        "messages": _parse_messages(body.get("messages")),
        "tools": tools,
        "tool_choice": _parse_tool_choice(body.get("tool_choice")),
        "max_tokens": body.get("max_tokens"),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "stop": [s for s in ir.as_list(body.get("stop_sequences")) if isinstance(s, str)],
        "stream": bool(body.get("stream")),
        "thinking": enabled,
        "budget": budget if isinstance(budget, int) else None,
        "effort": effort or ir.budget_to_effort(budget if isinstance(budget, int) else None),
        "output": _parse_output(body),
    }


def _parse_output(body: dict) -> dict | None:
    fmt = ir.as_dict(ir.as_dict(body.get("output_config")).get("format")) or ir.as_dict(
        body.get("output_format")
    )
    if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return {"schema": fmt["schema"]}
    return None


def render_block(b: dict) -> dict | None:
    kind = b["type"]
    if kind == "text":
        return {"type": "text", "text": b["text"]} if b["text"] else None
    if kind == "image":
        if "url" in b:
            return {"type": "image", "source": {"type": "url", "url": b["url"]}}
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": b["media_type"], "data": b["data"]},
        }
    if kind == "tool_call":
        return {
            "type": "tool_use",
            "id": ir.safe_id(b["id"]),
            "name": b["name"],
            "input": b["args"],
        }
    if kind == "tool_result":
        content = [r for r in (render_block(c) for c in b["content"]) if r]
        out = {"type": "tool_result", "tool_use_id": ir.safe_id(b["id"]), "content": content}
        if b.get("is_error"):
            out["is_error"] = True
        return out
    if kind == "thinking" and b.get("family") == "anthropic":
        return b["raw"]
    return None


def _render_messages(messages: list[dict]) -> list[dict]:
    out = []
    for m in messages:
        blocks = [r for r in (render_block(b) for b in m["content"]) if r]
        if m["role"] == "user":
            # Tool results must open the user turn that answers a tool call.
            blocks.sort(key=lambda r: r["type"] != "tool_result")
        if blocks:
            out.append({"role": m["role"], "content": blocks})
    return ir.merge_roles(out)


def render_request(req: dict, model: str, default_max_tokens: int = 8192) -> dict:
    system, messages = ir.split_system(req)
    body: dict[str, Any] = {"model": model, "messages": _render_messages(messages)}
    if system:
        body["system"] = [{"type": "text", "text": t} for t in system]
    max_tokens = req.get("max_tokens") or default_max_tokens
    body["max_tokens"] = max_tokens
    if req["tools"]:
        body["tools"] = [
            {"name": t["name"], "description": t["description"], "input_schema": t["schema"]}
            for t in req["tools"]
        ]
        tc = req.get("tool_choice")
        if tc:
            body["tool_choice"] = dict(tc)
    for key in ("temperature", "top_p"):
        if req.get(key) is not None:
            body[key] = req[key]
    if req["stop"]:
        body["stop_sequences"] = req["stop"]
    if req["stream"]:
        body["stream"] = True
    budget = req.get("budget") or ir.effort_to_budget(req.get("effort"))
    if (
        req.get("thinking")
        and budget
        and ir.accepts_thinking("anthropic", model)
        and not ir.needs_thinking_dropped(req["messages"], "anthropic")
    ):
        budget = max(1024, min(budget, max_tokens - 1))
        if budget < max_tokens:
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            body.pop("temperature", None)
            body.pop("top_p", None)
    output = req.get("output")
    if output and output.get("schema"):
        body["output_config"] = {"format": {"type": "json_schema", "schema": output["schema"]}}
    return body


def parse_response(body: dict) -> dict:
    names: dict[str, str] = {}
    content = [p for p in (parse_block(b, names) for b in ir.dicts(body.get("content"))) if p]
    return {
        "id": body.get("id") or "",
        "model": body.get("model") or "",
        "content": content,
        "stop": ir.lookup(STOP_TO_IR, body.get("stop_reason"), "end_turn"),
        "usage": from_anthropic(ir.as_dict(body.get("usage"))),
    }


def render_response(resp: dict, model: str) -> dict:
    content = [r for r in (render_block(b) for b in resp["content"]) if r]
    stop = resp["stop"]
    return {
        "id": "msg_" + ir.safe_id(resp["id"] or "reins"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_FROM_IR.get(stop, stop),
        "stop_sequence": None,
        "usage": to_anthropic(resp.get("usage") or Usage()),
    }


def parse_error(body: Any) -> tuple[str, str]:
    err = ir.as_dict(ir.as_dict(body).get("error"))
    return str(err.get("type") or ""), str(err.get("message") or "")


def render_error(status: int, kind: str, message: str) -> dict:
    return {
        "type": "error",
        "error": {"type": kind or ERROR_TYPES.get(status, "api_error"), "message": message},
    }
