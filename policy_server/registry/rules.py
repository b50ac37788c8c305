"""An agent's tool and MCP allow/deny lists, compiled into ordinary policy rules.

The rules are scoped to the agent (``agents: [name]``), carry generated inline tests, and go
into the same policy set as the pack's own rules, so the engine enforces them, ``reins policy
explain --agent NAME`` shows them and ``reins policy test`` runs their tests. Rule ids are
``agent.<name>.tools-allow``, ``…tools-deny``, ``…mcp-allow`` and ``…mcp-deny``.

Pure: specs in, specs out. No store, no files.
"""

from __future__ import annotations

from typing import Any

from ..engine.events import TOOL_GROUPS
from ..engine.permission_rules import PermissionRule

# A sample input for each tool a generated test may use; benign enough that no default rule fires.
_SAMPLES: dict[str, dict[str, Any]] = {
    "Read": {"file_path": "/home/dev/project/README.md"},
    "Grep": {"pattern": "TODO", "path": "/home/dev/project"},
    "Glob": {"pattern": "**/*.py", "path": "/home/dev/project"},
    "LS": {"path": "/home/dev/project"},
    "Write": {"file_path": "/home/dev/project/notes.txt", "content": "notes"},
    "Edit": {"file_path": "/home/dev/project/notes.txt", "old_string": "a", "new_string": "b"},
    "WebFetch": {"url": "https://example.com/", "prompt": "summarise"},
    "WebSearch": {"query": "release notes"},
    "Bash": {"command": "ls"},
    "TodoWrite": {"todos": []},
}


def rule_specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The policy rules (schema shape, with tests) that enforce one agent's lists."""
    name = spec["name"]
    tools = spec.get("tools") or {}
    servers = spec.get("mcp_servers") or {}
    base = {"agents": [name], "events": ["PreToolUse"], "severity": "high"}
    builders = (
        (tools.get("allow"), _tools_allow),
        (tools.get("deny"), _tools_deny),
        (servers.get("allow"), _mcp_allow),
        (servers.get("deny"), _mcp_deny),
    )
    return [base | build(name, tools, servers) for given, build in builders if given]


def _tools_allow(name: str, tools: dict[str, Any], servers: dict[str, Any]) -> dict[str, Any]:
    allowed = _expand(tools["allow"])
    return {
        "id": f"agent.{name}.tools-allow",
        "description": f"Tools agent {name} may use; anything else is denied.",
        "decision": "deny",
        "reason": f"Agent {name} may only use: {', '.join(tools['allow'])}.",
        # MCP tools are the MCP lists' business, not the tool allowlist's.
        "when": {"not": {"permission": [*allowed, "mcp__*"]}},
        "tests": _tests(
            name,
            _first_sample(lambda t: not _matches(allowed, t)),
            _first_sample(lambda t: _matches(allowed, t) and t in allowed),
        ),
    }


def _tools_deny(name: str, tools: dict[str, Any], servers: dict[str, Any]) -> dict[str, Any]:
    denied = _expand(tools["deny"])
    allowed = _expand(tools["allow"]) if tools.get("allow") else None

    def benign(tool: str) -> bool:
        return not _matches(denied, tool) and (allowed is None or _matches(allowed, tool))

    return {
        "id": f"agent.{name}.tools-deny",
        "description": f"Tools agent {name} must never use.",
        "decision": "deny",
        "reason": f"Agent {name} may not use: {', '.join(tools['deny'])}.",
        "when": {"permission": denied},
        "tests": _tests(
            name, next((t for t in denied if t in _SAMPLES), None), _first_sample(benign)
        ),
    }


def _mcp_allow(name: str, tools: dict[str, Any], servers: dict[str, Any]) -> dict[str, Any]:
    usable = [s for s in servers["allow"] if s not in (servers.get("deny") or [])]
    allow_case = usable and not _tools_block_mcp(tools)
    return {
        "id": f"agent.{name}.mcp-allow",
        "description": f"MCP servers agent {name} may use; any other is denied.",
        "tools": "@mcp",
        "decision": "deny",
        "reason": f"Agent {name} may only use the MCP servers: {', '.join(servers['allow'])}.",
        "when": {"not": {"mcp": {"server": list(servers["allow"])}}},
        "tests": [
            _mcp_test(name, "reins-not-allowed", "deny"),
            *([_mcp_test(name, usable[0], "allow")] if allow_case else []),
        ],
    }


def _mcp_deny(name: str, tools: dict[str, Any], servers: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"agent.{name}.mcp-deny",
        "description": f"MCP servers agent {name} must never use.",
        "tools": "@mcp",
        "decision": "deny",
        "reason": f"Agent {name} may not use the MCP servers: {', '.join(servers['deny'])}.",
        "when": {"mcp": {"server": list(servers["deny"])}},
        "tests": [
            _mcp_test(name, servers["deny"][0], "deny"),
            *_benign_server(name, servers, tools),
        ],
    }


def _expand(entries: list[str]) -> list[str]:
    """Groups (``@write``) become their tool names; other entries stay permission rules."""
    out: list[str] = []
    for entry in entries:
        if entry == "@mcp":
            out.append("mcp__*")
        else:
            out.extend(TOOL_GROUPS.get(entry, (entry,)))
    return list(dict.fromkeys(out))


def _matches(entries: list[str], tool: str) -> bool:
    """Whether a bare use of ``tool`` is covered by some entry (specifiers ignored)."""
    return any(PermissionRule(e).tool == tool and "(" not in e for e in entries)


def _first_sample(accept: Any) -> str | None:
    return next((tool for tool in _SAMPLES if accept(tool)), None)


def _tests(name: str, deny_tool: str | None, allow_tool: str | None) -> list[dict[str, Any]]:
    tests = []
    if deny_tool:
        tests.append(
            {"tool": deny_tool, "input": _SAMPLES[deny_tool], "agent": name, "expect": "deny"}
        )
        # The same call by another agent is not this rule's business.
        tests.append(
            {
                "tool": deny_tool,
                "input": _SAMPLES[deny_tool],
                "agent": "reins-other-agent",
                "expect": "allow",
            }
        )
    if allow_tool:
        tests.append(
            {"tool": allow_tool, "input": _SAMPLES[allow_tool], "agent": name, "expect": "allow"}
        )
    return tests


def _mcp_test(name: str, server: str, expect: str) -> dict[str, Any]:
    return {"tool": f"mcp__{server}__get_item", "input": {}, "agent": name, "expect": expect}


def _benign_server(
    name: str, servers: dict[str, Any], tools: dict[str, Any]
) -> list[dict[str, Any]]:
    """An allow case for the deny rule: a server the agent may use, when one exists."""
    if _tools_block_mcp(tools):
        return []
    allowed = [s for s in servers.get("allow") or [] if s not in servers["deny"]]
    if servers.get("allow") and not allowed:
        return []
    return [_mcp_test(name, allowed[0] if allowed else "reins-other-server", "allow")]


def _tools_block_mcp(tools: dict[str, Any]) -> bool:
    return any(e.startswith("mcp__") or e == "@mcp" for e in tools.get("deny") or [])
