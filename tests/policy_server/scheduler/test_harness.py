"""Command lines, environments and config files for each harness; reading their output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy_server.registry.agent import Agent
from policy_server.scheduler.harness import HOOK_CLIENT, invocation, summarize

TOKEN = "reins_" + "t" * 43


def build(tmp_path: Path, harness: str, gateway: str | None = None, **fields):
    spec = {
        "name": "bot",
        "harness": harness,
        "owner": "a",
        "prompt": "Fix the flaky test.",
        "memory": ["Tests live in tests/."],
        "model": "fast",
        "fail_mode": "open",
        "environment": {"CI": "true"},
        **fields,
    }
    settings = {
        "server_url": "http://reins:8700",
        "gateway_url": gateway,
        "claude_bin": "claude",
        "codex_bin": "codex",
        "gemini_bin": "gemini",
    }
    return invocation(Agent(spec), run_id="run_1", token=TOKEN, run_dir=tmp_path, settings=settings)


@pytest.fixture(autouse=True)
def scheduler_environment(monkeypatch) -> None:
    monkeypatch.setenv("REINS_TOKEN", "reins_the_schedulers_own_token")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-operator")


def test_claude_code_gets_settings_hooks_tools_memory_and_the_gateway(tmp_path: Path) -> None:
    call = build(
        tmp_path,
        "claude-code",
        "http://gw:8787",
        tools={"allow": ["@read", "Bash(make:*)"], "deny": ["WebFetch"]},
    )
    argv = call.argv
    assert argv[:5] == ["claude", "-p", "Fix the flaky test.", "--output-format", "json"]
    assert argv[argv.index("--append-system-prompt") + 1] == "Tests live in tests/."
    assert argv[argv.index("--model") + 1] == "fast"
    allowed = argv[argv.index("--allowedTools") + 1 : argv.index("--disallowedTools")]
    assert allowed == ["Read", "Glob", "Grep", "LS", "Bash(make:*)"]
    settings = json.loads(Path(argv[argv.index("--settings") + 1]).read_text())
    hook = settings["hooks"]["PreToolUse"][0]["hooks"][0]
    assert hook["type"] == "command" and str(HOOK_CLIENT) in hook["command"]
    assert hook["command"].endswith(" claude-code")
    assert settings["disableAllHooks"] is False  # outranks a working copy's own settings
    env = call.env
    assert (
        env["REINS_TOKEN"] == TOKEN and env["REINS_AGENT"] == "bot" and env["REINS_RUN"] == "run_1"
    )
    assert env["ANTHROPIC_BASE_URL"] == "http://gw:8787" and env["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    assert "ANTHROPIC_API_KEY" not in env  # the run never holds a provider key
    assert env["ANTHROPIC_CUSTOM_HEADERS"] == "X-Reins-Agent: bot\nX-Reins-Run: run_1"
    assert env["CI"] == "true"
    config = json.loads((Path(env["REINS_HOME"]) / "config.json").read_text())
    assert config == {"server": "http://reins:8700", "agent": "bot", "fail_mode": "open"}
    # The token is in the environment only, never in a file of the run.
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and TOKEN in p.read_text()]


def test_without_a_gateway_the_harness_keeps_its_own_model_settings(tmp_path: Path) -> None:
    env = build(tmp_path, "claude-code").env
    assert "ANTHROPIC_BASE_URL" not in env and env["ANTHROPIC_API_KEY"] == "sk-ant-operator"


def test_codex_gets_its_own_home_with_hooks_and_the_gateway_provider(tmp_path: Path) -> None:
    call = build(tmp_path, "codex", "http://gw:8787")
    assert call.argv[:4] == [
        "codex",
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-hook-trust",
    ]
    # Outranks [features] hooks = false in every config file (tests/e2e/test_codex_hooks_switch.py)
    assert call.argv[4:6] == ["-c", "features.hooks=true"]
    assert (
        call.argv[-1]
        == "Notes for this agent:\nTests live in tests/.\n\nTask:\nFix the flaky test."
    )
    home = Path(call.env["CODEX_HOME"])
    hooks = json.loads((home / "hooks.json").read_text())
    assert set(hooks) == {"hooks"} and hooks["hooks"]["PreToolUse"][0]["hooks"][0][
        "command"
    ].endswith(" codex")
    toml = (home / "config.toml").read_text()
    assert 'base_url = "http://gw:8787/v1"' in toml and 'env_key = "REINS_TOKEN"' in toml
    assert '"X-Reins-Run" = "REINS_RUN"' in toml and 'model = "fast"' in toml


def test_gemini_gets_a_home_of_its_own_with_hooks_in_milliseconds(tmp_path: Path) -> None:
    call = build(tmp_path, "gemini")
    assert call.argv[:2] == ["gemini", "-p"] and call.argv[-2:] == ["-m", "fast"]
    assert "GOOGLE_GEMINI_BASE_URL" not in call.env and "GEMINI_CLI_CUSTOM_HEADERS" not in call.env
    home = Path(call.env["GEMINI_CLI_HOME"])
    assert home.parent == tmp_path and "GEMINI_CLI_SYSTEM_SETTINGS_PATH" not in call.env
    settings = json.loads((home / ".gemini" / "settings.json").read_text())
    hook = settings["hooks"]["BeforeTool"][0]["hooks"][0]
    assert (
        hook["timeout"] == 10_000
        and hook["name"].startswith("reins-")
        and hook["command"].endswith(" gemini")
    )
    assert "security" not in settings  # without a gateway the agent brings its own credentials
    # Gemini runs no hook in an untrusted folder, and a working copy's .env cannot set a
    # variable that is already set (tests/e2e/test_gemini_folder_trust.py).
    assert call.env["GEMINI_CLI_TRUST_WORKSPACE"] == "true"
    assert call.env["GEMINI_RESTRICTED_MODE"] == "false"


def test_summaries_read_each_harness_output() -> None:
    claude = json.dumps(
        {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "num_turns": 3,
            "result": "All green.",
            "session_id": "abc",
            "total_cost_usd": 0.2,
            "permission_denials": [{"tool_name": "Bash"}],
        }
    )
    summary = summarize("claude-code", "warning: noise\n" + claude + "\n", "")
    assert summary["result"] == "All green." and summary["permission_denials"] == ["Bash"]
    assert summary["harness_cost_usd"] == 0.2 and summary["session_id"] == "abc"
    gemini = summarize("gemini", json.dumps({"response": "done", "session_id": "g1"}), "")
    assert gemini["result"] == "done" and not gemini["is_error"]
    codex = summarize("codex", "final answer\n", "session id: 0199a2b3-c4d5\n")
    assert codex == {"result": "final answer", "is_error": False, "session_id": "0199a2b3-c4d5"}
    assert summarize("claude-code", "not json", "")["result"] == "not json"


def test_a_gemini_run_sends_its_own_session_id_to_the_hooks_and_the_gateway(
    tmp_path: Path,
) -> None:
    """Gemini CLI sends no session id with model requests: the run picks one and sends it as the
    ``session-id`` header the gateway records, beside any headers the agent sets itself."""
    call = build(
        tmp_path,
        "gemini",
        "http://gw:8787",
        environment={"GEMINI_CLI_CUSTOM_HEADERS": "X-Team: infra"},
    )
    session = call.argv[call.argv.index("--session-id") + 1]
    assert len(session) == 36 and session.count("-") == 4  # a UUID, as Gemini CLI requires
    assert call.env["GEMINI_CLI_CUSTOM_HEADERS"] == f"X-Team: infra, session-id: {session}"
    assert call.env["GOOGLE_GEMINI_BASE_URL"] == "http://gw:8787"
    assert call.env["GEMINI_API_KEY"] == TOKEN
    user = json.loads((Path(call.env["GEMINI_CLI_HOME"]) / ".gemini/settings.json").read_text())
    assert user["security"] == {"auth": {"selectedType": "gemini-api-key"}}  # else exit 41
    assert "BeforeTool" in user["hooks"]
    again = build(tmp_path / "next-run", "gemini", "http://gw:8787")
    assert again.argv[again.argv.index("--session-id") + 1] != session  # one per run
    names = [
        json.loads((Path(c.env["GEMINI_CLI_HOME"]) / ".gemini/settings.json").read_text())["hooks"][
            "BeforeTool"
        ][0]["hooks"][0]["name"]
        for c in (call, again)
    ]
    assert names[0] != names[1]  # no working copy can list a run's hooks as disabled
