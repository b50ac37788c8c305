"""OpenAI Chat Completions bodies <-> IR: requests and non-streaming responses.

Tool calls are ``assistant.tool_calls[]`` with JSON-string arguments; results are ``role:"tool"``
messages keyed by ``tool_call_id``. Chat has no reasoning state to replay, so any signed thinking
is dropped on the way in. Streamed requests ask for ``stream_options.include_usage`` so usage
(and therefore cost) is never missing. What Chat shares with the Responses API (tool choice,
reasoning effort, function declarations and the error body) is ``responses``'s.

Must never do I/O.
"""

from __future__ import annotations

from typing import Any

from gateway.translate import ir
from gateway.translate.responses import parse_effort, parse_tool_choice, render_function
from gateway.translate.usage import Usage, from_chat, to_chat

FINISH_TO_IR = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "length": "max_tokens",
    "content_filter": "content_filter",
}
FINISH_FROM_IR = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "error": "stop",
}


def _parts(content: Any) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out = []
    for p in ir.dicts(content):
        if (
            p.get("type") in ("text", "input_text", "output_text")
            and isinstance(p.get("text"), str)
            and p["text"]
        ):
            out.append({"type": "text", "text": p["text"]})
        elif p.get("type") == "image_url":
            image = ir.image_from_url(p.get("image_url"))
            if image:
                out.append(image)
    return out


def _tool_calls(calls: Any, names: dict[str, str]) -> list[dict]:
    out = []
    for c in ir.as_list(calls):
        fn = ir.as_dict(ir.as_dict(c).get("function"))
        call_id = str(ir.as_dict(c).get("id") or "")
        names[call_id] = str(fn.get("name") or "")
        out.append(ir.tool_call(call_id, names[call_id], ir.parse_args(fn.get("arguments"))))
    return out


def _parse_messages(messages: Any) -> list[dict]:
    names: dict[str, str] = {}
    out = []
    for m in ir.dicts(messages):
        role = m.get("role")
        if role in ("system", "developer"):
            out.append({"role": "system", "content": _parts(m.get("content"))})
        elif role == "user":
            out.append({"role": "user", "content": _parts(m.get("content"))})
        elif role == "assistant":
            out.append(
                {
                    "role": "assistant",
                    "content": _parts(m.get("content")) + _tool_calls(m.get("tool_calls"), names),
                }
            )
        elif role == "tool":
            call_id = str(m.get("tool_call_id") or "")
            result = ir.tool_result(call_id, names.get(call_id, ""), _parts(m.get("content")))
            out.append({"role": "user", "content": [result]})
    return ir.merge_roles(out)


def parse_request(body: dict) -> dict:
    tools = []
    for t in ir.as_list(body.get("tools")):
        fn = ir.as_dict(ir.as_dict(t).get("function"))
        if fn.get("name"):
            tools.append(ir.tool(fn, fn.get("parameters") or {"type": "object", "properties": {}}))
    stop = body.get("stop")
    tc = body.get("tool_choice")
    forced = ir.as_dict(ir.as_dict(tc).get("function")).get("name")
    return {
        "model": body.get("model"),
        "system": [],
        "messages": _parse_messages(body.get("messages")),
        "tools": tools,
        "tool_choice": parse_tool_choice(tc, forced),
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens"),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "stop": [stop]
        if isinstance(stop, str)
        else [s for s in ir.as_list(stop) if isinstance(s, str)],
        "stream": bool(body.get("stream")),
        **parse_effort(body.get("reasoning_effort")),
        "output": _parse_output(ir.as_dict(body.get("response_format"))),
    }


def _parse_output(fmt: dict) -> dict | None:
    schema = ir.as_dict(fmt.get("json_schema")).get("schema")
    if fmt.get("type") == "json_schema" and isinstance(schema, dict):
        return {"schema": schema}
    return {"schema": None} if fmt.get("type") == "json_object" else None


def _content(blocks: list[dict], role: str) -> Any:
    parts = []
    for b in blocks:
        if b["type"] == "text":
            parts.append({"type": "text", "text": b["text"]})
        elif b["type"] == "image" and role == "user":
            parts.append({"type": "image_url", "image_url": {"url": ir.image_data_url(b)}})
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def render_tool_call(b: dict) -> dict:
    return {
        "id": b["id"],
        "type": "function",
        "function": {"name": b["name"], "arguments": ir.dumps(b["args"])},
    }


def _render_message(m: dict) -> list[dict]:
    if m["role"] == "system":
        return [{"role": "system", "content": ir.text_of(m["content"])}]
    if m["role"] == "assistant":
        calls = [render_tool_call(b) for b in m["content"] if b["type"] == "tool_call"]
        msg: dict[str, Any] = {
            "role": "assistant",
            "content": _content(m["content"], "assistant") or None,
        }
        if calls:
            msg["tool_calls"] = calls
        return [msg] if calls or msg["content"] else []
    out = []
    for b in m["content"]:
        if b["type"] == "tool_result":
            out.append(
                {"role": "tool", "tool_call_id": b["id"], "content": ir.text_of(b["content"])}
            )
            images = [c for c in b["content"] if c["type"] == "image"]
            if images:  # tool messages carry text only; images follow as a user turn
                out.append({"role": "user", "content": _content(images, "user")})
    rest = [b for b in m["content"] if b["type"] in ("text", "image")]
    if rest:
        out.append({"role": "user", "content": _content(rest, "user")})
    return out


def render_request(req: dict, model: str) -> dict:
    messages = [{"role": "system", "content": t} for t in req["system"]]
    for m in ir.defer_system(req["messages"]):
        messages.extend(_render_message(m))
    body: dict[str, Any] = {"model": model, "messages": messages}
    if req["tools"]:
        body["tools"] = [{"type": "function", "function": render_function(t)} for t in req["tools"]]
        tc = req.get("tool_choice") or {}
        if tc.get("type") == "tool":
            body["tool_choice"] = {"type": "function", "function": {"name": tc["name"]}}
        elif tc:
            body["tool_choice"] = {"any": "required"}.get(tc["type"], tc["type"])
    if req.get("max_tokens"):
        body["max_tokens"] = req["max_tokens"]
    for key in ("temperature", "top_p"):
        if req.get(key) is not None:
            body[key] = req[key]
    if req["stop"]:
        body["stop"] = req["stop"]
    effort = req.get("effort") or ir.budget_to_effort(req.get("budget"))
    if req.get("thinking") and effort and ir.accepts_thinking("chat", model):
        body["reasoning_effort"] = effort
    if req["stream"]:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    output = req.get("output")
    if output:
        schema = output.get("schema")
        body["response_format"] = (
            {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}
            if schema
            else {"type": "json_object"}
        )
    return body


def parse_response(body: dict) -> dict:
    choice = ir.as_dict(next(iter(ir.as_list(body.get("choices"))), None))
    msg = ir.as_dict(choice.get("message"))
    content = _parts(msg.get("content")) + _tool_calls(msg.get("tool_calls"), {})
    stop = ir.lookup(FINISH_TO_IR, choice.get("finish_reason"), "end_turn")
    if stop == "end_turn" and any(b["type"] == "tool_call" for b in content):
        stop = "tool_use"
    return {
        "id": body.get("id") or "",
        "model": body.get("model") or "",
        "content": content,
        "stop": stop,
        "usage": from_chat(ir.as_dict(body.get("usage"))),
    }


def render_response(resp: dict, model: str) -> dict:
    calls = [render_tool_call(b) for b in resp["content"] if b["type"] == "tool_call"]
    message: dict[str, Any] = {"role": "assistant", "content": ir.text_of(resp["content"]) or None}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-" + ir.safe_id(resp["id"] or "reins"),
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": FINISH_FROM_IR.get(resp["stop"], "stop"),
            }
        ],
        "usage": to_chat(resp.get("usage") or Usage()),
    }
