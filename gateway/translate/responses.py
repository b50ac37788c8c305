"""OpenAI Responses bodies <-> IR: requests, non-streaming responses and error bodies.

``instructions`` and ``developer``/``system`` items are system text; ``function_call`` /
``function_call_output`` are tool calls and results keyed by ``call_id``; freeform ``custom``
tools (Codex's ``apply_patch``) become JSON tools taking ``{"input": string}`` for other providers
and are turned back into ``custom_tool_call`` items on the way back. Encrypted ``reasoning`` items
are opaque ``openai`` reasoning state: replayed unchanged to an OpenAI target, dropped otherwise.
The parts Chat Completions shares (tool choice, reasoning effort, function declarations, the error
body) are here, and ``chat`` uses them.

Must never do I/O.
"""

from __future__ import annotations

from typing import Any

from gateway.translate import ir
from gateway.translate.usage import Usage, from_responses, to_responses

TEXT_PARTS = ("input_text", "output_text", "text", "refusal")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}


def custom_tool_names(body: Any) -> set[str]:
    """Names of the freeform tools declared in a Responses request."""
    return {
        t["name"]
        for t in ir.as_list(ir.as_dict(body).get("tools"))
        if isinstance(t, dict) and t.get("type") == "custom" and t.get("name")
    }


def _parts(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out = []
    for p in ir.dicts(content):
        kind = p.get("type")
        if kind in TEXT_PARTS:
            text = p.get("text", p.get("refusal"))
            if isinstance(text, str) and text:
                out.append({"type": "text", "text": text})
        elif kind == "input_image":
            image = ir.image_from_url(p.get("image_url"))
            if image:
                out.append(image)
    return out


def _parse_item(item: dict, names: dict[str, str]) -> tuple[str, list[dict]] | None:
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        role = "system" if role in ("developer", "system") else role
        if role not in ("user", "assistant", "system"):
            return None
        return role, _parts(item.get("content"))
    if kind in ("function_call", "custom_tool_call"):
        call_id = str(item.get("call_id") or item.get("id") or "")
        names[call_id] = str(item.get("name") or "")
        args = (
            ir.parse_args(item.get("arguments"))
            if kind == "function_call"
            else {"input": item.get("input") or ""}
        )
        return "assistant", [ir.tool_call(call_id, names[call_id], args)]
    if kind in ("function_call_output", "custom_tool_call_output"):
        call_id = str(item.get("call_id") or "")
        return "user", [ir.tool_result(call_id, names.get(call_id, ""), _parts(item.get("output")))]
    if kind == "reasoning":
        return "assistant", [{"type": "thinking", "family": "openai", "raw": item}]
    return None


def _parse_input(value: Any) -> list[dict]:
    if isinstance(value, str):
        return [{"role": "user", "content": [{"type": "text", "text": value}]}]
    names: dict[str, str] = {}
    messages: list[dict] = []
    for item in ir.as_list(value):
        parsed = _parse_item(item, names) if isinstance(item, dict) else None
        if parsed:
            messages.append({"role": parsed[0], "content": parsed[1]})
    return ir.merge_roles(messages)


def parse_tool_choice(tc: Any, name: Any) -> dict | None:
    """OpenAI's ``tool_choice`` (Responses and Chat): a mode, or a function called ``name``."""
    if tc in ("auto", "none"):
        return {"type": tc}
    if tc == "required":
        return {"type": "any"}
    return {"type": "tool", "name": name} if name else None


def parse_effort(effort: Any) -> dict:
    """The IR thinking fields for OpenAI's ``reasoning_effort`` (``none``/``minimal``: no thinking)."""
    return {
        "thinking": bool(effort) and effort not in ("none", "minimal"),
        "budget": None,
        "effort": effort if effort not in (None, "none") else None,
    }


def parse_request(body: dict) -> dict:
    tools = []
    for t in ir.dicts(body.get("tools")):
        if not t.get("name"):
            continue
        if t.get("type") == "function":
            tools.append(ir.tool(t, t.get("parameters") or {"type": "object", "properties": {}}))
        elif t.get("type") == "custom":
            tools.append(ir.tool(t, ir.CUSTOM_TOOL_SCHEMA, custom=True))
    tc = body.get("tool_choice")
    instructions = body.get("instructions")
    messages = _parse_input(body.get("input"))
    return {
        "model": body.get("model"),
        "system": [instructions] if isinstance(instructions, str) and instructions else [],
        "messages": messages,
        "tools": tools,
        "tool_choice": parse_tool_choice(tc, ir.as_dict(tc).get("name")),
        "max_tokens": body.get("max_output_tokens"),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "stop": [],
        "stream": bool(body.get("stream")),
        **parse_effort(ir.as_dict(body.get("reasoning")).get("effort")),
        "output": _parse_output(ir.as_dict(ir.as_dict(body.get("text")).get("format"))),
    }


def _parse_output(fmt: dict) -> dict | None:
    if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return {"schema": fmt["schema"]}
    return {"schema": None} if fmt.get("type") == "json_object" else None


def _message_part(block: dict, role: str) -> dict | None:
    if block["type"] == "text":
        return {
            "type": "output_text" if role == "assistant" else "input_text",
            "text": block["text"],
        }
    if block["type"] == "image" and role != "assistant":
        return {"type": "input_image", "image_url": ir.image_data_url(block)}
    return None


def _result_output(content: list[dict]) -> Any:
    if all(c["type"] == "text" for c in content):
        return ir.text_of(content)
    return [p for p in (_message_part(c, "user") for c in content) if p]


def render_item(block: dict, custom: set[str]) -> dict | None:
    kind = block["type"]
    if kind == "tool_call":
        if block["name"] in custom:
            return {
                "type": "custom_tool_call",
                "call_id": block["id"],
                "name": block["name"],
                "input": str(block["args"].get("input", "")),
            }
        return {
            "type": "function_call",
            "call_id": block["id"],
            "name": block["name"],
            "arguments": ir.dumps(block["args"]),
        }
    if kind == "tool_result":
        return {
            "type": "function_call_output",
            "call_id": block["id"],
            "output": _result_output(block["content"]),
        }
    if kind == "thinking" and block.get("family") == "openai":
        return block["raw"]
    return None


def render_function(tool: dict) -> dict:
    """An IR tool as OpenAI's function declaration (Responses lists it flat, Chat under ``function``)."""
    return {"name": tool["name"], "description": tool["description"], "parameters": tool["schema"]}


def _render_input(messages: list[dict], custom: set[str]) -> list[dict]:
    items: list[dict] = []
    for m in messages:
        role = "developer" if m["role"] == "system" else m["role"]
        parts: list[dict] = []
        for b in m["content"]:
            part = _message_part(b, role)
            if part:
                parts.append(part)
                continue
            if parts:
                items.append({"type": "message", "role": role, "content": parts})
                parts = []
            item = render_item(b, custom)
            if item:
                items.append(item)
        if parts:
            items.append({"type": "message", "role": role, "content": parts})
    return items


def render_request(req: dict, model: str) -> dict:
    custom = {t["name"] for t in req["tools"] if t["custom"]}
    body: dict[str, Any] = {
        "model": model,
        "input": _render_input(ir.defer_system(req["messages"]), custom),
        "store": False,
    }
    if req["system"]:
        body["instructions"] = "\n\n".join(req["system"])
    if req["tools"]:
        body["tools"] = [
            {"type": "custom", "name": t["name"], "description": t["description"]}
            if t["custom"]
            else {"type": "function", **render_function(t)}
            for t in req["tools"]
        ]
        tc = req.get("tool_choice") or {}
        if tc.get("type") == "tool":
            body["tool_choice"] = {
                "type": "custom" if tc["name"] in custom else "function",
                "name": tc["name"],
            }
        elif tc:
            body["tool_choice"] = {"any": "required"}.get(tc["type"], tc["type"])
    if req.get("max_tokens"):
        body["max_output_tokens"] = req["max_tokens"]
    for key in ("temperature", "top_p"):
        if req.get(key) is not None:
            body[key] = req[key]
    effort = req.get("effort") or ir.budget_to_effort(req.get("budget"))
    if req.get("thinking") and effort and ir.accepts_thinking("responses", model):
        body["reasoning"] = {"effort": effort}
    if req["stream"]:
        body["stream"] = True
    output = req.get("output")
    if output:
        schema = output.get("schema")
        fmt = (
            {"type": "json_schema", "name": "output", "schema": schema, "strict": False}
            if schema
            else {"type": "json_object"}
        )
        body["text"] = {"format": fmt}
    return body


def parse_response(body: dict) -> dict:
    names: dict[str, str] = {}
    content: list[dict] = []
    for item in ir.as_list(body.get("output")):
        parsed = _parse_item(item, names) if isinstance(item, dict) else None
        if parsed and parsed[0] == "assistant":
            content.extend(parsed[1])
    status = body.get("status")
    reason = ir.as_dict(body.get("incomplete_details")).get("reason")
    if status == "incomplete":
        stop = "content_filter" if reason == "content_filter" else "max_tokens"
    elif status == "failed":
        stop = "error"
    else:
        stop = "tool_use" if any(b["type"] == "tool_call" for b in content) else "end_turn"
    return {
        "id": body.get("id") or "",
        "model": body.get("model") or "",
        "content": content,
        "stop": stop,
        "usage": from_responses(ir.as_dict(body.get("usage"))),
    }


def status_of(stop: str) -> tuple[str, dict | None]:
    if stop == "max_tokens":
        return "incomplete", {"reason": "max_output_tokens"}
    if stop == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def render_output(content: list[dict], custom: set[str], resp_id: str) -> list[dict]:
    output: list[dict] = []
    for n, b in enumerate(content):
        if b["type"] == "text":
            part = {"type": "output_text", "text": b["text"], "annotations": []}
            if output and output[-1]["type"] == "message":
                output[-1]["content"].append(part)
            else:
                output.append(
                    {
                        "type": "message",
                        "id": f"msg_{resp_id}_{n}",
                        "status": "completed",
                        "role": "assistant",
                        "content": [part],
                    }
                )
            continue
        item = render_item(b, custom)
        if item and b["type"] == "tool_call":
            output.append({**item, "id": f"fc_{ir.safe_id(b['id'])}", "status": "completed"})
        elif item:
            output.append(item)
    return output


def render_response(resp: dict, model: str, custom: set[str] | None = None) -> dict:
    resp_id = ir.safe_id(resp["id"] or "reins")
    status, incomplete = status_of(resp["stop"])
    return {
        "id": "resp_" + resp_id,
        "object": "response",
        "created_at": 0,
        "status": status,
        "incomplete_details": incomplete,
        "model": model,
        "output": render_output(resp["content"], custom or set(), resp_id),
        "usage": to_responses(resp.get("usage") or Usage()),
    }


def parse_error(body: Any) -> tuple[str, str]:
    err = ir.as_dict(ir.as_dict(body).get("error"))
    return str(err.get("type") or err.get("code") or ""), str(err.get("message") or "")


def render_error(status: int, kind: str, message: str) -> dict:
    """OpenAI's error body (Responses and Chat)."""
    typ = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": typ, "param": None, "code": kind or None}}
