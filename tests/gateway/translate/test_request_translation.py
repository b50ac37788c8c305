"""Request translation: each mapping of the translation map and each request-side fidelity trap."""

from __future__ import annotations

import json

import pytest

from gateway.translate import TranslationError, parse_request, translate_request
from gateway.translate.ir import GEMINI_SKIP_SIGNATURE, synthetic_call_id

SIGNED = {"type": "thinking", "thinking": "let me look", "signature": "EqQBCkYIBxgCKkC+sig=="}


def claude_code_request(**extra: object) -> dict:
    """The shape Claude Code sends: billing header, cached system, mid-conversation system item."""
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "output_config": {"effort": "high"},
        "metadata": {"user_id": '{"session_id":"s1"}'},
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197"},
            {
                "type": "text",
                "text": "You are Claude Code.",
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
        ],
        "tools": [
            {
                "name": "Bash",
                "description": "Run a command",
                "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
            },
            {
                "name": "Read",
                "description": "Read a file",
                "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
            },
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
        ],
        "tool_choice": {"type": "auto"},
        "messages": [
            {"role": "user", "content": "list the files"},
            {
                "role": "assistant",
                "content": [
                    SIGNED,
                    {"type": "text", "text": "Listing."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01A",
                        "name": "Bash",
                        "input": {"command": "ls"},
                    },
                ],
            },
            {"role": "system", "content": "Reminder: be brief."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01A",
                        "content": "a.txt\nb.txt",
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"type": "text", "text": "now read a.txt"},
                ],
            },
        ],
    }
    body.update(extra)
    return body


# --- system prompts --------------------------------------------------------------------------


def test_system_goes_where_each_target_wants_it_without_billing_header() -> None:
    body = claude_code_request()
    resp = translate_request(body, "anthropic", "responses", "gpt-5")
    assert resp["instructions"] == "You are Claude Code."
    chat = translate_request(body, "anthropic", "chat", "gpt-5")
    assert chat["messages"][0] == {"role": "system", "content": "You are Claude Code."}
    gem = translate_request(body, "anthropic", "gemini", "gemini-2.5-pro")
    assert gem["systemInstruction"]["parts"][0] == {"text": "You are Claude Code."}
    for out in (resp, chat, gem):
        assert "x-anthropic-billing-header" not in json.dumps(out)


@pytest.mark.parametrize(
    ("target", "find"),
    [
        ("responses", lambda b: [i for i in b["input"] if i.get("role") == "developer"]),
        ("chat", lambda b: [m for m in b["messages"][1:] if m["role"] == "system"]),
        (
            "gemini",
            lambda b: [p for p in b["systemInstruction"]["parts"] if "Reminder" in p["text"]],
        ),
    ],
)
def test_system_item_inside_messages_is_kept(target: str, find) -> None:
    out = translate_request(claude_code_request(), "anthropic", target, "m")
    found = find(out)
    assert len(found) == 1 and "Reminder: be brief." in json.dumps(found)


def test_mid_conversation_system_never_splits_tool_call_from_results_for_openai() -> None:
    chat = translate_request(claude_code_request(), "anthropic", "chat", "gpt-5")["messages"]
    call = next(i for i, m in enumerate(chat) if m.get("tool_calls"))
    assert chat[call + 1] == {
        "role": "tool",
        "tool_call_id": "toolu_01A",
        "content": "a.txt\nb.txt",
    }
    items = translate_request(claude_code_request(), "anthropic", "responses", "gpt-5")["input"]
    call = next(i for i, it in enumerate(items) if it.get("type") == "function_call")
    assert items[call + 1]["type"] == "function_call_output"


@pytest.mark.parametrize("source_body", [{"instructions": "Be careful.", "input": "hi"}])
def test_responses_instructions_and_developer_items_become_anthropic_system(
    source_body: dict,
) -> None:
    body = {
        **source_body,
        "input": [
            {"role": "developer", "content": [{"type": "input_text", "text": "Sandbox: on."}]},
            {"role": "user", "content": "hi"},
        ],
    }
    out = translate_request(body, "responses", "anthropic", "claude-sonnet-4-5")
    assert [b["text"] for b in out["system"]] == ["Be careful.", "Sandbox: on."]
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


# --- tools and tool choice -------------------------------------------------------------------


def test_tool_definitions_map_and_server_tools_are_dropped() -> None:
    body = claude_code_request()
    resp = translate_request(body, "anthropic", "responses", "m")["tools"]
    assert resp[0] == {
        "type": "function",
        "name": "Bash",
        "description": "Run a command",
        "parameters": body["tools"][0]["input_schema"],
    }
    chat = translate_request(body, "anthropic", "chat", "m")["tools"]
    assert chat[1]["function"]["name"] == "Read" and chat[1]["type"] == "function"
    gem = translate_request(body, "anthropic", "gemini", "m")["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in gem] == ["Bash", "Read"]
    assert gem[0]["parametersJsonSchema"] is body["tools"][0]["input_schema"]
    assert len(resp) == len(chat) == 2


CHOICES = [
    ({"type": "auto"}, "auto", "auto", {"functionCallingConfig": {"mode": "AUTO"}}),
    ({"type": "any"}, "required", "required", {"functionCallingConfig": {"mode": "ANY"}}),
    ({"type": "none"}, "none", "none", {"functionCallingConfig": {"mode": "NONE"}}),
    (
        {"type": "tool", "name": "Bash"},
        {"type": "function", "name": "Bash"},
        {"type": "function", "function": {"name": "Bash"}},
        {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Bash"]}},
    ),
]


@pytest.mark.parametrize(
    ("anthropic_choice", "responses_choice", "chat_choice", "gemini_config"), CHOICES
)
def test_tool_choice_maps_both_ways(
    anthropic_choice, responses_choice, chat_choice, gemini_config
) -> None:
    body = claude_code_request(tool_choice=anthropic_choice)
    assert translate_request(body, "anthropic", "responses", "m")["tool_choice"] == responses_choice
    assert translate_request(body, "anthropic", "chat", "m")["tool_choice"] == chat_choice
    gem = translate_request(body, "anthropic", "gemini", "m")
    assert gem["toolConfig"] == gemini_config
    for fmt, out in (
        ("responses", translate_request(body, "anthropic", "responses", "m")),
        ("chat", translate_request(body, "anthropic", "chat", "m")),
        ("gemini", gem),
    ):
        assert translate_request(out, fmt, "anthropic", "c")["tool_choice"] == anthropic_choice


# --- tool calls and results, ids across turns ------------------------------------------------


@pytest.mark.parametrize("target", ["responses", "chat", "gemini"])
def test_tool_call_ids_survive_a_round_trip(target: str) -> None:
    body = claude_code_request()
    there = translate_request(body, "anthropic", target, "m")
    back = translate_request(there, target, "anthropic", "claude-sonnet-4-5")
    blocks = [b for m in back["messages"] for b in m["content"]]
    call = next(b for b in blocks if b["type"] == "tool_use")
    result = next(b for b in blocks if b["type"] == "tool_result")
    assert call == {
        "type": "tool_use",
        "id": "toolu_01A",
        "name": "Bash",
        "input": {"command": "ls"},
    }
    assert result["tool_use_id"] == "toolu_01A"
    assert result["content"] == [{"type": "text", "text": "a.txt\nb.txt"}]


def test_tool_arguments_are_a_json_string_for_openai_and_an_object_elsewhere() -> None:
    body = claude_code_request()
    resp = translate_request(body, "anthropic", "responses", "m")["input"]
    call = next(i for i in resp if i.get("type") == "function_call")
    assert call == {
        "type": "function_call",
        "call_id": "toolu_01A",
        "name": "Bash",
        "arguments": '{"command":"ls"}',
    }
    gem = translate_request(body, "anthropic", "gemini", "m")["contents"]
    fc = next(p for c in gem for p in c["parts"] if "functionCall" in p)
    assert fc["functionCall"] == {"name": "Bash", "args": {"command": "ls"}, "id": "toolu_01A"}
    fr = next(p for c in gem for p in c["parts"] if "functionResponse" in p)
    assert fr["functionResponse"] == {
        "name": "Bash",
        "response": {"output": "a.txt\nb.txt"},
        "id": "toolu_01A",
    }


def gemini_history() -> dict:
    """Gemini CLI history whose calls have no ids, two calls of the same tool."""
    return {
        "contents": [
            {"role": "user", "parts": [{"text": "read both"}]},
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {"name": "read_file", "args": {"path": "a"}},
                        "thoughtSignature": "gem-sig-1",
                    },
                    {"functionCall": {"name": "read_file", "args": {"path": "b"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "read_file", "response": {"output": "A"}}},
                    {
                        "functionResponse": {
                            "name": "read_file",
                            "response": {"error": "Tool execution blocked: policy"},
                        }
                    },
                ],
            },
        ],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "read_file",
                        "description": "Read",
                        "parametersJsonSchema": {"type": "object"},
                    }
                ]
            }
        ],
    }


def test_gemini_calls_without_ids_get_deterministic_ids_that_match_their_results() -> None:
    first = translate_request(gemini_history(), "gemini", "anthropic", "claude-sonnet-4-5")
    second = translate_request(gemini_history(), "gemini", "anthropic", "claude-sonnet-4-5")
    assert first == second
    calls = [b for b in first["messages"][1]["content"] if b["type"] == "tool_use"]
    results = first["messages"][2]["content"]
    assert [c["id"] for c in calls] == [
        synthetic_call_id("turn1", 0),
        synthetic_call_id("turn1", 1),
    ]
    assert [r["tool_use_id"] for r in results] == [c["id"] for c in calls]
    assert results[1]["is_error"] is True and "blocked" in results[1]["content"][0]["text"]


def test_synthetic_ids_are_not_sent_back_to_gemini_but_signatures_are() -> None:
    ir = parse_request(gemini_history(), "gemini")
    from gateway.translate import render_request

    out = render_request(ir, "gemini", "gemini-2.5-pro")
    parts = out["contents"][1]["parts"]
    assert parts[0] == {
        "functionCall": {"name": "read_file", "args": {"path": "a"}},
        "thoughtSignature": "gem-sig-1",
    }
    assert "id" not in parts[1]["functionCall"]
    assert out["contents"][2]["parts"][1]["functionResponse"]["response"] == {
        "error": "Tool execution blocked: policy"
    }


@pytest.mark.parametrize("source", ["anthropic", "responses", "chat"])
def test_calls_from_other_providers_reach_gemini_with_the_skip_signature(source: str) -> None:
    body = claude_code_request()
    if source != "anthropic":
        body = translate_request(body, "anthropic", source, "m")
    gem = translate_request(body, source, "gemini", "gemini-3-pro-preview")
    model_turn = next(c for c in gem["contents"] if c["role"] == "model")
    first_call = next(p for p in model_turn["parts"] if "functionCall" in p)
    assert first_call["thoughtSignature"] == GEMINI_SKIP_SIGNATURE


def test_chat_tool_messages_become_one_anthropic_user_turn() -> None:
    body = {
        "model": "gpt-5",
        "messages": [
            {"role": "user", "content": "go"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "a", "arguments": "{}"},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "b", "arguments": '{"x":1}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "one"},
            {"role": "tool", "tool_call_id": "call_2", "content": "two"},
        ],
    }
    out = translate_request(body, "chat", "anthropic", "claude-haiku-4-5")
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "user"]
    assert [b["tool_use_id"] for b in out["messages"][2]["content"]] == ["call_1", "call_2"]
    assert out["messages"][1]["content"][1]["input"] == {"x": 1}


def test_ids_anthropic_would_reject_are_made_safe_consistently() -> None:
    body = {
        "model": "gpt-5",
        "input": [
            {"type": "function_call", "call_id": "call:1/x", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call:1/x", "output": "ok"},
        ],
    }
    out = translate_request(body, "responses", "anthropic", "claude-sonnet-4-5")
    call_id = out["messages"][0]["content"][0]["id"]
    assert out["messages"][1]["content"][0]["tool_use_id"] == call_id
    assert all(c.isalnum() or c in "_-" for c in call_id)


def test_freeform_custom_tool_becomes_a_json_tool_and_keeps_its_calls() -> None:
    body = {
        "model": "gpt-5-codex",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "patch it"}]},
            {
                "type": "custom_tool_call",
                "call_id": "call_p",
                "name": "apply_patch",
                "input": "*** Begin Patch",
            },
            {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done"},
        ],
        "tools": [
            {
                "type": "custom",
                "name": "apply_patch",
                "description": "Patch files",
                "format": {"type": "grammar"},
            }
        ],
    }
    out = translate_request(body, "responses", "anthropic", "claude-sonnet-4-5")
    assert out["tools"][0]["input_schema"]["required"] == ["input"]
    assert out["messages"][1]["content"][0]["input"] == {"input": "*** Begin Patch"}
    back = translate_request(out, "anthropic", "responses", "gpt-5")
    assert back["input"][1]["type"] == "function_call"  # the Anthropic side has no custom tools


# --- images ----------------------------------------------------------------------------------

IMAGE = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("responses", {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}),
        ("chat", {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}),
        ("gemini", {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}),
    ],
)
def test_images_map_and_come_back(target: str, expected: dict) -> None:
    body = {
        "model": "c",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "what is this"}, IMAGE]}
        ],
    }
    out = translate_request(body, "anthropic", target, "m")
    assert expected in _all_parts(out)
    back = translate_request(out, target, "anthropic", "c")
    assert back["messages"][0]["content"][1] == IMAGE


def _all_parts(out: dict) -> list:
    if "input" in out:
        return [p for i in out["input"] for p in i.get("content", [])]
    if "messages" in out:
        return [p for m in out["messages"] if isinstance(m["content"], list) for p in m["content"]]
    return [p for c in out["contents"] for p in c["parts"]]


# --- thinking ----------------------------------------------------------------------------------


def test_same_format_is_passthrough_so_signed_thinking_is_byte_exact() -> None:
    body = claude_code_request()
    assert translate_request(body, "anthropic", "anthropic", "x") is body


@pytest.mark.parametrize("target", ["responses", "chat", "gemini"])
def test_signed_thinking_is_dropped_on_a_provider_switch(target: str) -> None:
    out = json.dumps(translate_request(claude_code_request(), "anthropic", target, "m"))
    assert SIGNED["signature"] not in out and "let me look" not in out


def test_openai_reasoning_items_replay_to_openai_and_are_dropped_for_others() -> None:
    reasoning = {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "encrypted_content": "gAAAA-opaque",
    }
    body = {
        "model": "gpt-5",
        "reasoning": {"effort": "high"},
        "input": [
            {"role": "user", "content": "go"},
            reasoning,
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
        ],
    }
    chat = translate_request(body, "responses", "chat", "gpt-5")
    assert "gAAAA-opaque" not in json.dumps(chat)
    ir = parse_request(body, "responses")
    from gateway.translate import render_request

    assert reasoning in render_request(ir, "responses", "gpt-5")["input"]
    claude = translate_request(body, "responses", "anthropic", "claude-sonnet-4-5")
    assert "gAAAA-opaque" not in json.dumps(claude)
    # The last assistant turn called a tool with no Anthropic thinking block: thinking must be off,
    # or Anthropic rejects the request ("final assistant message must start with a thinking block").
    assert "thinking" not in claude


def test_thinking_stays_on_for_anthropic_when_the_tool_turn_starts_with_a_signed_block() -> None:
    ir = parse_request(claude_code_request(), "anthropic")
    from gateway.translate import render_request

    out = render_request(ir, "anthropic", "claude-sonnet-4-5")
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4000}
    assert out["messages"][1]["content"][0] == SIGNED  # byte-exact, same object


def test_thinking_budget_maps_to_effort_and_back() -> None:
    body = claude_code_request(messages=[{"role": "user", "content": "hi"}])
    assert translate_request(body, "anthropic", "responses", "gpt-5")["reasoning"] == {
        "effort": "high"
    }
    assert translate_request(body, "anthropic", "chat", "o4-mini")["reasoning_effort"] == "high"
    gem = translate_request(body, "anthropic", "gemini", "gemini-2.5-pro")
    assert gem["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 4000}
    resp = {
        "model": "gpt-5",
        "input": "hi",
        "reasoning": {"effort": "medium"},
        "max_output_tokens": 20000,
    }
    out = translate_request(resp, "responses", "anthropic", "claude-sonnet-4-5")
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 8192}
    assert out["max_tokens"] == 20000


@pytest.mark.parametrize(
    ("target", "model", "key"),
    [
        ("responses", "gpt-4.1", "reasoning"),
        ("chat", "gpt-4o-mini", "reasoning_effort"),
        ("chat", "llama-3.1-70b", "reasoning_effort"),
        ("gemini", "gemini-2.0-flash", "thinkingConfig"),
        ("anthropic", "claude-3-5-haiku-20241022", "thinking"),
    ],
)
def test_thinking_settings_are_not_sent_to_models_that_reject_them(
    target: str, model: str, key: str
) -> None:
    if target == "anthropic":
        body, source = (
            {"model": "gpt-5", "input": "hi", "reasoning": {"effort": "high"}},
            "responses",
        )
    else:
        body, source = (
            claude_code_request(messages=[{"role": "user", "content": "hi"}]),
            "anthropic",
        )
    out = translate_request(body, source, target, model)
    assert key not in (out.get("generationConfig", {}) if target == "gemini" else out)


def test_gemini_budget_is_capped_to_what_every_thinking_model_accepts() -> None:
    body = claude_code_request(
        messages=[{"role": "user", "content": "hi"}],
        thinking={"type": "enabled", "budget_tokens": 60000},
        max_tokens=64000,
    )
    gem = translate_request(body, "anthropic", "gemini", "models/gemini-2.5-flash")
    assert gem["generationConfig"]["thinkingConfig"] == {"thinkingBudget": 24576}


def test_anthropic_target_gets_a_max_tokens_and_a_budget_below_it() -> None:
    out = translate_request(
        {"model": "gpt-5", "input": "hi"}, "responses", "anthropic", "claude-sonnet-4-5"
    )
    assert out["max_tokens"] == 8192 and "thinking" not in out
    body = {
        "model": "gpt-5",
        "input": "hi",
        "reasoning": {"effort": "high"},
        "max_output_tokens": 4096,
    }
    out = translate_request(body, "responses", "anthropic", "claude-sonnet-4-5")
    assert out["thinking"]["budget_tokens"] < out["max_tokens"] == 4096


# --- traps -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["responses", "chat", "gemini"])
def test_cache_control_is_stripped_when_translating(target: str) -> None:
    out = json.dumps(translate_request(claude_code_request(), "anthropic", target, "m"))
    assert "cache_control" not in out and "ttl" not in out


@pytest.mark.parametrize("target", ["responses", "chat", "gemini"])
def test_streaming_flag_and_chat_usage_option(target: str) -> None:
    out = translate_request(claude_code_request(), "anthropic", target, "m")
    if target == "chat":
        assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    elif target == "responses":
        assert out["stream"] is True and out["store"] is False
    else:
        assert "stream" not in out  # Gemini streams by URL (:streamGenerateContent?alt=sse)


@pytest.mark.parametrize(
    ("body", "source", "target"),
    [
        ([], "anthropic", "chat"),
        ("x", "chat", "gemini"),
        ({}, "nope", "chat"),
        ({}, "chat", "bedrock"),
    ],
)
def test_bad_input_is_a_clear_translation_error(body, source: str, target: str) -> None:
    with pytest.raises(TranslationError, match="expected"):
        translate_request(body, source, target, "m")


def test_gemini_openapi_parameters_become_json_schema() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "f",
                        "parameters": {
                            "type": "OBJECT",
                            "properties": {"type": {"type": "STRING", "enum": ["A"]}},
                            "required": ["type"],
                        },
                    }
                ]
            }
        ],
    }
    out = translate_request(body, "gemini", "anthropic", "claude-sonnet-4-5")
    assert out["tools"][0]["input_schema"] == {
        "type": "object",
        "properties": {"type": {"type": "string", "enum": ["A"]}},
        "required": ["type"],
    }


def _bench_body() -> dict:
    """The benchmark's realistic Claude Code request (~80 KB, 25 tools, signed thinking)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "bench" / "gateway_bodies.py"
    spec = importlib.util.spec_from_file_location("gateway_bodies_for_translate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return json.loads(module.claude_code_body("claude-sonnet-4-5"))


@pytest.mark.parametrize(
    ("target", "model"), [("responses", "gpt-5"), ("chat", "gpt-4.1"), ("gemini", "gemini-2.5-pro")]
)
def test_a_realistic_claude_code_request_translates_and_comes_back(target: str, model: str) -> None:
    body = _bench_body()
    out = translate_request(body, "anthropic", target, model)
    json.dumps(out)
    back = translate_request(out, target, "anthropic", "claude-sonnet-4-5")
    assert [t["name"] for t in back["tools"]] == [
        t["name"] for t in body["tools"] if "input_schema" in t
    ]
    ids = [
        b["id"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_use"
    ]
    assert (
        ids
        and [b["id"] for m in back["messages"] for b in m["content"] if b["type"] == "tool_use"]
        == ids
    )


SCHEMA = {"type": "object", "properties": {"model": {"type": "string"}}, "required": ["model"]}
STRUCTURED = {
    "anthropic": (
        {
            "model": "c",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "route"}],
            "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}},
        },
        lambda b: b["output_config"]["format"]["schema"],
    ),
    "responses": (
        {
            "model": "gpt-5",
            "input": "route",
            "text": {"format": {"type": "json_schema", "name": "r", "schema": SCHEMA}},
        },
        lambda b: b["text"]["format"]["schema"],
    ),
    "chat": (
        {
            "model": "gpt-5",
            "messages": [{"role": "user", "content": "route"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "r", "schema": SCHEMA},
            },
        },
        lambda b: b["response_format"]["json_schema"]["schema"],
    ),
    "gemini": (
        {
            "contents": [{"role": "user", "parts": [{"text": "route"}]}],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": SCHEMA,
            },
        },
        lambda b: b["generationConfig"]["responseJsonSchema"],
    ),
}


@pytest.mark.parametrize(
    ("source", "target"), [(s, t) for s in STRUCTURED for t in STRUCTURED if s != t]
)
def test_structured_output_schemas_are_kept(source: str, target: str) -> None:
    """Gemini CLI's model router asks for JSON: answering it with prose makes the CLI hang."""
    out = translate_request(STRUCTURED[source][0], source, target, "m")
    assert STRUCTURED[target][1](out) == SCHEMA


def test_gemini_openapi_response_schema_and_json_mode() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x"}]}],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT"},
        },
    }
    assert translate_request(body, "gemini", "chat", "m")["response_format"]["json_schema"][
        "schema"
    ] == {"type": "object"}
    body["generationConfig"].pop("responseSchema")
    assert translate_request(body, "gemini", "responses", "m")["text"] == {
        "format": {"type": "json_object"}
    }


@pytest.mark.parametrize("fmt", ["anthropic", "responses", "chat", "gemini"])
def test_input_token_estimate_is_the_same_whatever_the_format(fmt: str) -> None:
    from gateway.translate import estimate_input_tokens

    body = claude_code_request()
    if fmt != "anthropic":
        body = translate_request(body, "anthropic", fmt, "gpt-5")
    estimate = estimate_input_tokens(body, fmt)
    text = (
        "You are Claude Code.list the filesListing.Bash"
        + '{"command":"ls"}'
        + "Reminder: be brief.a.txt\nb.txtnow read a.txt"
    )
    tools = sum(
        len(t["name"])
        + len(t["description"])
        + len(json.dumps(t["input_schema"], separators=(",", ":")))
        for t in claude_code_request()["tools"][:2]
    )
    assert estimate == (len(text) + tools + 3) // 4
