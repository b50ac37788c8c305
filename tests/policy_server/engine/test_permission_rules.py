from __future__ import annotations

import pytest

from policy_server.engine.adapters import to_event
from policy_server.engine.permission_rules import PermissionRule


def event(tool: str, **tool_input: object) -> object:
    return to_event(
        {
            "hook_event_name": "PreToolUse",
            "cwd": "/home/dev/proj",
            "tool_name": tool,
            "tool_input": tool_input,
        },
        "claude-code",
        {"home": "/home/dev"},
    )


@pytest.mark.parametrize(
    ("rule", "tool", "tool_input", "expected"),
    [
        ("Bash(git push:*)", "Bash", {"command": "git push origin main"}, True),
        ("Bash(git push:*)", "Bash", {"command": "git   push"}, True),
        ("Bash(git push:*)", "Bash", {"command": "make && git push -f"}, True),
        ("Bash(git push:*)", "Bash", {"command": "git pushy"}, False),
        ("Bash(git push:*)", "Bash", {"command": "echo git push"}, False),
        ("Bash(npm run *)", "Bash", {"command": "npm run build"}, True),
        ("Bash(npm test)", "Bash", {"command": "npm test --watch"}, False),
        ("Bash", "Bash", {"command": "ls"}, True),
        ("Bash", "Read", {"file_path": "/x"}, False),
        ("Read(./.env)", "Read", {"file_path": "/home/dev/proj/.env"}, True),
        ("Read(./.env)", "Read", {"file_path": "/home/dev/proj/.env.example"}, False),
        ("Read(./.env)", "Grep", {"path": "/home/dev/proj/.env", "pattern": "x"}, True),
        ("Read(~/.ssh/**)", "Read", {"file_path": "/home/dev/.ssh/id_rsa"}, True),
        ("Read(//etc/shadow)", "Read", {"file_path": "/etc/shadow"}, True),
        ("Edit(src/**)", "Edit", {"file_path": "/home/dev/proj/src/a.py"}, True),
        ("Edit(src/**)", "Write", {"file_path": "/home/dev/proj/src/a.py"}, True),
        ("Edit(src/**)", "Edit", {"file_path": "/home/dev/proj/lib/a.py"}, False),
        ("Edit(src/**)", "Read", {"file_path": "/home/dev/proj/src/a.py"}, False),
        ("WebFetch(domain:example.com)", "WebFetch", {"url": "https://docs.example.com/x"}, True),
        (
            "WebFetch(domain:example.com)",
            "WebFetch",
            {"url": "https://example.com.evil.io/"},
            False,
        ),
        ("mcp__github__*", "mcp__github__create_issue", {}, True),
        ("mcp__github", "mcp__github__get_issue", {}, True),
        ("mcp__github__get_issue", "mcp__github__create_issue", {}, False),
        ("mcp__github", "mcp__gitlab__x", {}, False),
    ],
)
def test_permission_rule_has_claude_code_meaning(
    rule: str, tool: str, tool_input: dict, expected: bool
) -> None:
    assert PermissionRule(rule).test(event(tool, **tool_input)) is expected


@pytest.mark.parametrize("bad", ["Bash(", "(x)", "WebFetch(example.com)", ""])
def test_malformed_permission_rules_are_rejected_with_the_fix(bad: str) -> None:
    with pytest.raises(ValueError, match=r"Tool\(specifier\)|domain:"):
        PermissionRule(bad)
