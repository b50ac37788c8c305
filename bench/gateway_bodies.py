"""Request bodies for the gateway benchmark: a small Anthropic request and a realistic one.

The realistic body has the shape Claude Code sends (see shared/reference/gateway.md §2): a
billing pseudo-header and a long cached system prompt, 25 tool definitions, a dozen messages
with tool calls and results, a signed thinking block, a ``role: "system"`` entry inside
``messages`` and the top-level fields a strict gateway would reject. About 80 KB. Text is
generated from a fixed seed, so every run sends the same bytes. Pure: no I/O.
"""

from __future__ import annotations

import json
import random

WORDS = [
    "the",
    "repository",
    "test",
    "module",
    "function",
    "error",
    "file",
    "path",
    "change",
    "commit",
    "branch",
    "build",
    "command",
    "output",
    "review",
    "tool",
    "agent",
    "policy",
    "request",
    "response",
    "stream",
    "token",
    "session",
    "cache",
    "must",
    "should",
    "never",
    "always",
    "before",
    "after",
    "when",
    "unless",
    "check",
    "run",
    "read",
    "write",
    "edit",
    "list",
]
TOOLS = [
    "Bash",
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "Glob",
    "Grep",
    "LS",
    "WebFetch",
    "WebSearch",
    "NotebookRead",
    "NotebookEdit",
    "TodoWrite",
    "TodoRead",
    "Task",
    "ExitPlanMode",
    "BashOutput",
    "KillShell",
    "SlashCommand",
    "ListMcpResources",
    "ReadMcpResource",
    "mcp__github__create_pr",
    "mcp__github__list_issues",
    "mcp__linear__search",
    "mcp__sentry__get_issue",
]


def prose(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18)))
        out.append(sentence.capitalize() + ".")
        size += len(sentence) + 2
    return " ".join(out)


def small_body(model: str, stream: bool = False) -> bytes:
    body = {
        "model": model,
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": "List the files in this directory."}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def tool_definition(rng: random.Random, name: str) -> dict:
    properties = {
        f"{rng.choice(WORDS)}_{i}": {"type": "string", "description": prose(rng, 120)}
        for i in range(4)
    }
    return {
        "name": name,
        "description": prose(rng, 1500),
        "input_schema": {
            "type": "object",
            "properties": properties,
            "required": list(properties)[:1],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    }


def conversation(rng: random.Random) -> list[dict]:
    messages: list[dict] = [
        {"role": "user", "content": [{"type": "text", "text": prose(rng, 1200)}]},
    ]
    for turn in range(5):
        call_id = f"toolu_01Bench{turn:04d}"
        thinking = {"type": "thinking", "thinking": prose(rng, 400), "signature": "Eq" + "A" * 340}
        messages.append(
            {
                "role": "assistant",
                "content": [
                    *([thinking] if turn == 0 else []),
                    {"type": "text", "text": prose(rng, 200)},
                    {"type": "tool_use", "id": call_id, "name": "Bash", "input": {"command": "ls"}},
                ],
            }
        )
        result = {"type": "tool_result", "tool_use_id": call_id, "content": prose(rng, 1400)}
        messages.append({"role": "user", "content": [result]})
    messages.insert(6, {"role": "system", "content": "The user switched to plan mode."})
    messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return messages


def claude_code_body(model: str, target_kb: int = 80) -> bytes:
    """A Claude Code-shaped, non-streaming Messages request of about ``target_kb`` KB."""
    rng = random.Random(7)
    body = {
        "model": model,
        "max_tokens": 32000,
        "stream": False,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "medium"},
        "metadata": {"user_id": json.dumps({"device_id": "bench", "session_id": "bench-session"})},
        "system": [
            {
                "type": "text",
                "text": "x-anthropic-billing-header: cc_version=2.1.197; cc_entrypoint=cli",
            },
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        ],
        "tools": [tool_definition(rng, name) for name in TOOLS],
        "messages": conversation(rng),
    }
    size = len(json.dumps(body, separators=(",", ":")))
    body["system"][2]["text"] = prose(rng, max(1000, target_kb * 1024 - size))
    return json.dumps(body, separators=(",", ":")).encode()
