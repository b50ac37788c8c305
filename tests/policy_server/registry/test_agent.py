"""Agent definitions: what is valid, and the error a person gets for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_server.registry.agent import MAX_PROMPT_CHARS, Agent, AgentError, problems, validate


def agent(**changes: object) -> dict:
    base = {
        "name": "nightly",
        "harness": "claude-code",
        "owner": "alice",
        "working_directory": "/tmp",
        "prompt": "Run the tests and report.",
        "tools": {"allow": ["@read", "Bash(make test:*)"], "deny": ["WebFetch"]},
        "mcp_servers": {"allow": ["github"]},
        "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Paris"},
        "max_runtime": "20m",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_a_complete_definition_is_valid_and_reads_back() -> None:
    spec = validate(agent(memory=["Use make.", "Never push."], fail_mode="open"))
    read = Agent(spec)
    assert read.schedule == {
        "cron": "0 2 * * *",
        "timezone": "Europe/Paris",
        "catch_up": "skip",
        "overlap": "skip",
    }
    assert read.max_runtime_s == 1200
    assert read.memory == "Use make.\nNever push."
    assert read.fail_mode == "open"
    assert Agent(validate(agent(fail_mode=None))).fail_mode == "closed"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"schedule": {"cron": "0 25 * * *"}}, "schedule/cron", "not a five-field cron"),
        ({"schedule": {"cron": "every night"}}, "schedule/cron", "e.g. '0 2 * * *'"),
        (
            {"schedule": {"cron": "0 2 * * *", "timezone": "Mars/Olympus"}},
            "schedule/timezone",
            "IANA",
        ),
        ({"harness": "cursor"}, "harness", "is not one of ['claude-code', 'codex', 'gemini']"),
        ({"tools": {"allow": ["Bsh"]}}, "tools/allow/0", "unknown tool 'Bsh'"),
        ({"tools": {"deny": ["@writes"]}}, "tools/deny/0", "unknown tool group '@writes'"),
        (
            {"tools": {"allow": ["Bash(git status"]}},
            "tools/allow/0",
            "not a Claude Code permission rule",
        ),
        ({"mcp_servers": {"allow": ["git hub"]}}, "mcp_servers/allow/0", "not an MCP server name"),
        (
            {"prompt": "x" * (MAX_PROMPT_CHARS + 1)},
            "prompt",
            f"over the limit of {MAX_PROMPT_CHARS}",
        ),
        ({"working_directory": "/nonexistent/reins/dir"}, "working_directory", "does not exist"),
        ({"working_directory": "relative/dir"}, "working_directory", "absolute path"),
        ({"prompt": None}, "prompt", "needs a prompt"),
        ({"name": "interactive"}, "name", "reserved"),
        ({"name": "Bad Name"}, "name", "does not match"),
        (
            {"environment": {"ANTHROPIC_API_KEY": "x"}},
            "environment/ANTHROPIC_API_KEY",
            "set by Reins",
        ),
        ({"environment": {"GH_TOKEN": "x"}}, "environment/GH_TOKEN", "set by Reins"),
        ({"environment": {"NOTE": "ghp_" + "a1B2" * 9}}, "environment/NOTE", "looks like a secret"),
        ({"max_runtime": "25h"}, "max_runtime", "at most 24h"),
        ({"max_runtime": "ten minutes"}, "max_runtime", "does not match"),
        ({"colour": "blue"}, "", "allowed keys"),
    ],
)
def test_bad_input_gets_an_error_naming_the_field_and_the_fix(
    changes: dict, field: str, words: str
) -> None:
    found = problems(agent(**changes))
    assert found, "the definition must be refused"
    assert any(p.field == field and words in p.message for p in found), [str(p) for p in found]


def test_a_repository_agent_needs_no_local_directory_but_a_relative_one(tmp_path: Path) -> None:
    assert not problems(
        agent(repository="https://example.com/acme/app.git", working_directory="svc")
    )
    assert not problems(agent(repository=str(tmp_path), working_directory=None))
    found = problems(agent(repository=str(tmp_path / "missing"), working_directory=None))
    assert [p.field for p in found] == ["repository"]
    found = problems(agent(repository="git@example.com:acme/app.git", working_directory="../up"))
    assert [p.field for p in found] == ["working_directory"]


def test_paths_are_not_checked_when_asked_not_to() -> None:
    assert not problems(agent(working_directory="/nonexistent/reins/dir"), check_paths=False)


def test_validate_raises_with_every_problem() -> None:
    with pytest.raises(AgentError) as caught:
        validate(agent(tools={"allow": ["Bsh"]}, schedule={"cron": "nope"}))
    assert {p.field for p in caught.value.problems} == {"schedule/cron", "tools/allow/0"}
