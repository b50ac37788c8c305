"""An agent's tool and MCP lists become rules of the pack: enforced for that agent only, shown
by `reins policy explain --agent`, tested by `reins policy test`, checked by `reins policy lint`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from policy_server.engine.adapters import to_event
from policy_server.lint import lint
from policy_server.loader import BUNDLED_POLICIES, load
from policy_server.policy_tests import run_all
from policy_server.registry.agent import Agent

AGENT = """\
name: reviewer
harness: claude-code
owner: alice
tools:
  allow: ["@read", "Bash(git status:*)"]
  deny: [WebFetch]
mcp_servers:
  allow: [github]
"""


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(BUNDLED_POLICIES, directory)
    (directory / "agents" / "reviewer.yaml").write_text(AGENT)
    return directory


def decide(directory: Path, agent: str, tool: str, tool_input: dict, store=()) -> tuple[str, list]:
    pack = load(directory, store)
    assert not pack.errors, pack.errors
    payload = {
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "cwd": "/home/dev/project",
        "session_id": "s",
    }
    decision = pack.policies.evaluate(to_event(payload, "claude-code", {"agent": agent}))
    return decision.decision, decision.rules


@pytest.mark.parametrize(
    ("tool", "tool_input", "expected", "rule"),
    [
        ("Read", {"file_path": "/home/dev/project/a.py"}, "allow", None),
        ("Bash", {"command": "git status --short"}, "allow", None),
        ("Bash", {"command": "ls"}, "deny", "agent.reviewer.tools-allow"),
        (
            "Write",
            {"file_path": "/home/dev/project/a.py", "content": "x"},
            "deny",
            "agent.reviewer.tools-allow",
        ),
        ("WebFetch", {"url": "https://example.com"}, "deny", "agent.reviewer.tools-deny"),
        ("mcp__github__get_issue", {"number": 1}, "allow", None),
        ("mcp__jira__get_issue", {"id": 1}, "deny", "agent.reviewer.mcp-allow"),
    ],
)
def test_the_agent_is_held_to_its_lists(pack_dir, tool, tool_input, expected, rule) -> None:
    decision, rules = decide(pack_dir, "reviewer", tool, tool_input)
    assert decision == expected, rules
    if rule:
        assert rule in rules


def test_other_agents_are_not_touched(pack_dir) -> None:
    assert decide(pack_dir, "interactive", "Bash", {"command": "ls"}) == ("allow", [])
    assert (
        decide(pack_dir, "someone-else", "WebFetch", {"url": "https://example.com"})[0] == "allow"
    )


def test_store_agents_join_the_pack_and_change_its_revision(pack_dir) -> None:
    spec = {"name": "api-made", "harness": "codex", "owner": "bob", "tools": {"deny": ["Bash"]}}
    before = load(pack_dir).policies.revision
    pack = load(pack_dir, [Agent(spec)])
    assert pack.policies.revision != before
    assert decide(pack_dir, "api-made", "Bash", {"command": "ls"}, [Agent(spec)])[0] == "deny"
    # A store agent with a file agent's name is ignored, with a warning.
    clash = Agent(
        {"name": "reviewer", "harness": "codex", "owner": "bob", "tools": {"deny": ["Read"]}}
    )
    pack = load(pack_dir, [clash])
    assert any("the file wins" in p.message for p in pack.warnings)
    assert (
        decide(pack_dir, "reviewer", "Read", {"file_path": "/home/dev/project/a"}, [clash])[0]
        == "allow"
    )


def test_generated_inline_tests_pass_for_the_bundled_and_example_agents(pack_dir) -> None:
    results = list(run_all(load(pack_dir).policies))
    agent_results = [r for r in results if r.rule.id.startswith("agent.")]
    assert len(agent_results) >= 8
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]


def test_lint_reports_a_bad_agent_file_with_file_and_line(pack_dir) -> None:
    (pack_dir / "agents" / "broken.yaml").write_text(
        "name: broken\nharness: claude-code\nowner: a\nprompt: go\n"
        "working_directory: /tmp\ntools:\n  allow: [Bsh]\nschedule: {cron: '61 * * * *'}\n"
    )
    (pack_dir / "agents" / "misnamed.yaml").write_text("name: other\nharness: codex\nowner: a\n")
    (pack_dir / "agents" / "nowhere.yaml").write_text(
        "name: nowhere\nharness: codex\nowner: a\nworking_directory: /nonexistent/reins\n"
    )
    pack = load(pack_dir)
    messages = [str(p) for p in pack.errors + lint(pack)]
    assert any("broken.yaml:7" in m and "unknown tool 'Bsh'" in m for m in messages), messages
    assert any("broken.yaml:8" in m and "cron" in m for m in messages), messages
    assert any("misnamed.yaml" in m and "must match the file name" in m for m in messages)
    assert any("nowhere.yaml" in m and "does not exist" in m for m in messages), messages


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reins.cli", *args], input=stdin, capture_output=True, text=True
    )


def test_explain_shows_the_agent_rule(pack_dir) -> None:
    payload = json.dumps(
        {
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": "ls"},
            "session_id": "s",
            "cwd": "/tmp",
        }
    )
    done = run_cli(
        "policy", "explain", "--policies", str(pack_dir), "--agent", "reviewer", stdin=payload
    )
    assert done.returncode == 0, done.stderr
    assert "MATCH agent.reviewer.tools-allow [deny]" in done.stdout
    assert "decision: deny — Reins agent.reviewer.tools-allow" in done.stdout
    done = run_cli(
        "policy", "explain", "--policies", str(pack_dir), "--agent", "other", stdin=payload
    )
    assert "agent.reviewer" not in done.stdout and "decision: allow" in done.stdout
    done = run_cli(
        "policy", "explain", "--all", "--policies", str(pack_dir), "--agent", "other", stdin=payload
    )
    assert "-     agent.reviewer.tools-allow [deny]: only for agents ['reviewer']" in done.stdout


def test_lint_and_test_commands_cover_agents(pack_dir) -> None:
    done = run_cli("policy", "lint", str(pack_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    done = run_cli("policy", "test", str(pack_dir), "-v")
    assert done.returncode == 0, done.stdout
    assert "ok   agent.reviewer.tools-allow" in done.stdout
    (pack_dir / "agents" / "reviewer.yaml").write_text(AGENT.replace("@read", "@reed"))
    done = run_cli("policy", "lint", str(pack_dir))
    assert done.returncode == 1 and "unknown tool group '@reed'" in done.stdout


def test_many_agents_add_no_candidates_to_other_agents_events(pack_dir) -> None:
    """Agent rules are indexed by agent: a thousand agents cost another agent's event nothing."""
    many = [
        Agent({"name": f"a{i}", "harness": "codex", "owner": "o", "tools": {"allow": ["Read"]},
               "mcp_servers": {"deny": ["slack"]}})
        for i in range(300)
    ]  # fmt: skip
    payload = {"hook_event_name": "PreToolUse", "tool_name": "mcp__slack__post", "tool_input": {},
               "cwd": "/home/dev/project", "session_id": "s"}  # fmt: skip
    alone, crowded = load(pack_dir).policies, load(pack_dir, many).policies
    for agent in ("interactive", "reviewer"):
        event = to_event(payload, "claude-code", {"agent": agent})
        assert [r.id for r in crowded.candidates(event)] == [r.id for r in alone.candidates(event)]
    event = to_event(payload, "claude-code", {"agent": "a7"})
    assert {r.id for r in crowded.candidates(event)} >= {
        "agent.a7.tools-allow",
        "agent.a7.mcp-deny",
    }
    assert crowded.evaluate(event).rules[0] in ("agent.a7.tools-allow", "agent.a7.mcp-deny")
