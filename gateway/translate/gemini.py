"""Gemini generateContent bodies <-> IR: requests, non-streaming responses and error bodies.

Gemini function calls may come without ids. Ids are then made deterministic (a hash of the
position in the conversation, or of the response id and part index), so the same history yields
the same ids on every turn and results still match their calls; a ``functionResponse`` without an
id takes the oldest unanswered call of the same name. Synthetic ids are not sent back to Gemini.

``thoughtSignature`` values are Gemini reasoning state: echoed to a Gemini target, dropped
elsewhere. A function call that reaches Gemini without a signature (it came from another
provider) carries Gemini's documented ``skip_thought_signature_validator`` instead, so the next
turn is not rejected.

Must never do I/O.
"""

from __future__ import annotations

from typing import Any

from gateway.translate import ir
from gateway.translate.usage import Usage, from_gemini, to_gemini

FINISH_TO_IR = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
FINISH_FROM_IR = {"max_tokens": "MAX_TOKENS", "content_filter": "SAFETY"}
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _result_content(response: Any) -> tuple[list[dict], bool]:
    """``{"output": s}`` and ``{"error": s}`` (what Gemini CLI sends) become plain text."""
    response = ir.as_dict(response)
    for key, is_error in (("output", False), ("error", True), ("content", False)):
        if len(response) == 1 and isinstance(response.get(key), str):
            return [{"type": "text", "text": response[key]}], is_error
    return ([{"type": "text", "text": ir.dumps(response)}] if response else []), False


def parse_part(p: dict, seed: str, n: int, pending: dict[str, list[str]]) -> dict | None:
    if "functionCall" in p:
        fc = ir.as_dict(p["functionCall"])
        call_id = str(fc.get("id") or ir.synthetic_call_id(seed, n))
        name = str(fc.get("name") or "")
        pending.setdefault(name, []).append(call_id)
        block = ir.tool_call(call_id, name, ir.as_dict(fc.get("args")))
    elif "functionResponse" in p:
        fr = ir.as_dict(p["functionResponse"])
        name = str(fr.get("name") or "")
        queue = pending.get(name) or []
        call_id = str(fr.get("id") or (queue[0] if queue else ir.synthetic_call_id(seed, n)))
        if call_id in queue:
            queue.remove(call_id)
        return ir.tool_result(call_id, name, *_result_content(fr.get("response")))
    elif p.get("thought"):
        return {"type": "thinking", "family": "gemini", "raw": p}
    elif isinstance(p.get("text"), str):
        block = {"type": "text", "text": p["text"]}
    elif "inlineData" in p:
        data = ir.as_dict(p["inlineData"])
        block = {
            "type": "image",
            "media_type": data.get("mimeType", ""),
            "data": data.get("data", ""),
        }
    elif "fileData" in p:
        block = {"type": "image", "url": str(ir.as_dict(p["fileData"]).get("fileUri") or "")}
    else:
        return None
    if p.get("thoughtSignature"):
        block["sig"] = p["thoughtSignature"]
    return block


def _parse_contents(contents: Any) -> list[dict]:
    pending: dict[str, list[str]] = {}
    out = []
    for i, c in enumerate(ir.as_list(contents)):
        c = ir.as_dict(c)
        role = "assistant" if c.get("role") == "model" else "user"
        parts = ir.as_list(c.get("parts"))
        blocks = [
            parse_part(p, f"turn{i}", n, pending)
            for n, p in enumerate(parts)
            if isinstance(p, dict)
        ]
        out.append({"role": role, "content": [b for b in blocks if b]})
    return out


def _parse_tool_choice(config: Any) -> dict | None:
    fcc = ir.as_dict(ir.as_dict(config).get("functionCallingConfig"))
    mode = fcc.get("mode")
    allowed = ir.as_list(fcc.get("allowedFunctionNames"))
    if mode == "ANY" and len(allowed) == 1:
        return {"type": "tool", "name": allowed[0]}
    return ir.lookup(
        {"ANY": {"type": "any"}, "NONE": {"type": "none"}, "AUTO": {"type": "auto"}}, mode, None
    )


def json_schema(schema: Any) -> Any:
    """A Gemini OpenAPI-style ``parameters`` schema as JSON Schema (``"STRING"`` → ``"string"``)."""
    if isinstance(schema, dict):
        return {
            k: (v.lower() if k == "type" and isinstance(v, str) else json_schema(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [json_schema(v) for v in schema]
    return schema


def parse_request(body: dict) -> dict:
    tools = []
    for group in ir.as_list(body.get("tools")):
        for fd in ir.as_list(ir.as_dict(group).get("functionDeclarations")):
            fd = ir.as_dict(fd)
            if fd.get("name"):
                schema = (
                    fd.get("parametersJsonSchema")
                    or json_schema(fd.get("parameters"))
                    or {"type": "object", "properties": {}}
                )
                tools.append(ir.tool(fd, schema))
    gen = ir.as_dict(body.get("generationConfig"))
    thinking = ir.as_dict(gen.get("thinkingConfig"))
    budget = thinking.get("thinkingBudget")
    system = [
        p["text"]
        for p in ir.as_list(ir.as_dict(body.get("systemInstruction")).get("parts"))
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]
    return {
        "model": body.get("model"),
        "system": system,
        "messages": _parse_contents(body.get("contents")),
        "tools": tools,
        "tool_choice": _parse_tool_choice(body.get("toolConfig")),
        "max_tokens": gen.get("maxOutputTokens"),
        "temperature": gen.get("temperature"),
        "top_p": gen.get("topP"),
        "stop": [s for s in ir.as_list(gen.get("stopSequences")) if isinstance(s, str)],
        # Gemini names streaming in the URL (:streamGenerateContent), never in the body: the
        # gateway marks a body it decoded from that endpoint with "stream": true.
        "stream": body.get("stream") is True,
        "thinking": isinstance(budget, int) and budget > 0,
        "budget": budget if isinstance(budget, int) and budget > 0 else None,
        "effort": thinking.get("thinkingLevel")
        or ir.budget_to_effort(budget if isinstance(budget, int) else None),
        "output": _parse_output(gen),
    }


def _parse_output(gen: dict) -> dict | None:
    """Structured output (Gemini CLI's router asks for it: losing it makes the CLI retry and hang)."""
    schema = gen.get("responseJsonSchema") or json_schema(gen.get("responseSchema"))
    if isinstance(schema, dict):
        return {"schema": schema}
    return {"schema": None} if gen.get("responseMimeType") == "application/json" else None


def render_part(b: dict, names: dict[str, str], first_call: bool) -> dict | None:
    kind = b["type"]
    if kind == "text":
        part: dict[str, Any] = {"text": b["text"]}
    elif kind == "image":
        if "url" in b:
            part = {
                "fileData": {"fileUri": b["url"], "mimeType": b.get("media_type") or "image/png"}
            }
        else:
            part = {"inlineData": {"mimeType": b["media_type"], "data": b["data"]}}
    elif kind == "tool_call":
        fc: dict[str, Any] = {"name": b["name"], "args": b["args"]}
        if not ir.is_synthetic_call_id(b["id"]):
            fc["id"] = b["id"]
        part = {"functionCall": fc}
        if not b.get("sig") and first_call:
            part["thoughtSignature"] = ir.GEMINI_SKIP_SIGNATURE
    elif kind == "tool_result":
        text = ir.text_of(b["content"])
        fr: dict[str, Any] = {
            "name": b["name"] or names.get(b["id"], ""),
            "response": {"error" if b.get("is_error") else "output": text},
        }
        if not ir.is_synthetic_call_id(b["id"]):
            fr["id"] = b["id"]
        part = {"functionResponse": fr}
    elif kind == "thinking" and b.get("family") == "gemini":
        return b["raw"]
    else:
        return None
    if b.get("sig"):
        part["thoughtSignature"] = b["sig"]
    return part


def _render_contents(messages: list[dict]) -> list[dict]:
    names = {b["id"]: b["name"] for m in messages for b in m["content"] if b["type"] == "tool_call"}
    contents = []
    for m in messages:
        parts = []
        first_call = True
        for b in m["content"]:
            part = render_part(b, names, first_call and m["role"] == "assistant")
            if part:
                first_call = first_call and "functionCall" not in part
                parts.append(part)
        if parts:
            contents.append(
                {"role": "model" if m["role"] == "assistant" else "user", "parts": parts}
            )
    return ir.merge_roles(contents)


def render_request(req: dict, model: str) -> dict:
    system, messages = ir.split_system(req)
    body: dict[str, Any] = {"contents": _render_contents(messages)}
    if system:
        body["systemInstruction"] = {"parts": [{"text": t} for t in system]}
    if req["tools"]:
        decls = [
            {
                "name": t["name"],
                "description": t["description"],
                "parametersJsonSchema": t["schema"],
            }
            for t in req["tools"]
        ]
        body["tools"] = [{"functionDeclarations": decls}]
        tc = req.get("tool_choice") or {}
        if tc.get("type") == "tool":
            body["toolConfig"] = {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [tc["name"]]}
            }
        elif tc:
            body["toolConfig"] = {"functionCallingConfig": {"mode": tc["type"].upper()}}
    gen: dict[str, Any] = {}
    if req.get("max_tokens"):
        gen["maxOutputTokens"] = req["max_tokens"]
    if req.get("temperature") is not None:
        gen["temperature"] = req["temperature"]
    if req.get("top_p") is not None:
        gen["topP"] = req["top_p"]
    if req["stop"]:
        gen["stopSequences"] = req["stop"]
    budget = req.get("budget") or ir.effort_to_budget(req.get("effort"))
    if req.get("thinking") and budget and ir.accepts_thinking("gemini", model):
        gen["thinkingConfig"] = {"thinkingBudget": min(budget, ir.GEMINI_MAX_BUDGET)}
    output = req.get("output")
    if output:
        gen["responseMimeType"] = "application/json"
        if output.get("schema"):
            gen["responseJsonSchema"] = output["schema"]
    if gen:
        body["generationConfig"] = gen
    return body


def parse_response(body: dict) -> dict:
    cand = ir.as_dict(next(iter(ir.as_list(body.get("candidates"))), None))
    seed = str(body.get("responseId") or "")
    parts = ir.as_list(ir.as_dict(cand.get("content")).get("parts"))
    blocks = [parse_part(p, seed, n, {}) for n, p in enumerate(parts) if isinstance(p, dict)]
    content = [b for b in blocks if b]
    stop = ir.lookup(FINISH_TO_IR, cand.get("finishReason"), "end_turn")
    if stop == "end_turn" and any(b["type"] == "tool_call" for b in content):
        stop = "tool_use"
    return {
        "id": seed,
        "model": body.get("modelVersion") or "",
        "content": content,
        "stop": stop,
        "usage": from_gemini(ir.as_dict(body.get("usageMetadata"))),
    }


def render_response(resp: dict, model: str) -> dict:
    names: dict[str, str] = {}
    parts = [p for p in (render_part(b, names, False) for b in resp["content"]) if p]
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": FINISH_FROM_IR.get(resp["stop"], "STOP"),
                "index": 0,
            }
        ],
        "usageMetadata": to_gemini(resp.get("usage") or Usage()),
        "modelVersion": model,
        "responseId": resp["id"] or "reins",
    }


def parse_error(body: Any) -> tuple[str, str]:
    err = ir.as_dict(ir.as_dict(body).get("error"))
    return str(err.get("status") or ""), str(err.get("message") or "")


def render_error(status: int, kind: str, message: str) -> dict:
    code = status if status >= 400 else 500
    return {
        "error": {
            "code": code,
            "message": message,
            "status": STATUS.get(code, "INTERNAL" if code >= 500 else "FAILED_PRECONDITION"),
        }
    }
