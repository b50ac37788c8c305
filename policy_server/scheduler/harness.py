"""How each harness is started headless for a scheduled run, and how its output is read.

``invocation`` builds the command line, the environment and the run's private config files:
hooks that send every event to Reins through the hook client (``hooks/reins_hook.py``) as the
agent and run (``REINS_AGENT``, ``REINS_RUN``), with the agent's fail mode; model traffic through
the gateway with ``X-Reins-Agent`` / ``X-Reins-Run`` when a gateway is configured. ``summarize``
turns the harness's output into the run row's result summary.

The run token is passed only in the environment (``REINS_TOKEN``) of the harness process, never
written to a file or a log; the scheduler's own ``REINS_*`` variables are not inherited.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.events import TOOL_GROUPS
from ..registry.agent import Agent

# Located as a file, not imported: the hook client is a script the harnesses run.
HOOK_CLIENT = Path(__file__).resolve().parents[2] / "hooks" / "reins_hook.py"
SUMMARY_CHARS = 2000
_CLAUDE_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Stop",
    "SessionEnd",
)
_CODEX_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop")
_GEMINI_EVENTS = ("SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "SessionEnd")


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    env: dict[str, str]


def invocation(
    agent: Agent, *, run_id: str, token: str, run_dir: Path, settings: dict[str, Any]
) -> Invocation:
    """The command and environment of one run; writes the run's config files under ``run_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REINS_")}
    env.update(agent.spec.get("environment") or {})
    reins_home = run_dir / "reins-home"
    reins_home.mkdir(parents=True, exist_ok=True)
    (reins_home / "config.json").write_text(
        json.dumps(
            {"server": settings["server_url"], "agent": agent.name, "fail_mode": agent.fail_mode}
        ),
        encoding="utf-8",
    )
    env.update(
        REINS_AGENT=agent.name,
        REINS_RUN=run_id,
        REINS_TOKEN=token,
        REINS_SERVER=settings["server_url"],
        REINS_HOME=str(reins_home),
    )
    build = {"claude-code": _claude, "codex": _codex, "gemini": _gemini}[agent.harness]
    return build(agent, env, run_dir, settings)


def _hook_command(harness: str) -> str:
    return " ".join(shlex.quote(p) for p in (sys.executable, "-I", "-S", str(HOOK_CLIENT), harness))


def _hook_block(
    harness: str, events: tuple[str, ...], timeout: int, name: str = ""
) -> dict[str, Any]:
    handler = {"type": "command", "command": _hook_command(harness), "timeout": timeout}
    if name:
        handler["name"] = name
    return {event: [{"matcher": "*", "hooks": [handler]}] for event in events}


def _prompt_with_memory(agent: Agent) -> str:
    memory = agent.memory
    prompt = str(agent.spec["prompt"])
    return f"Notes for this agent:\n{memory}\n\nTask:\n{prompt}" if memory else prompt


def _tool_names(entries: list[str]) -> list[str]:
    out: list[str] = []
    for entry in entries:
        out.extend(TOOL_GROUPS.get(entry, (entry,)) if entry != "@mcp" else ("mcp__*",))
    return list(dict.fromkeys(out))


def _claude(
    agent: Agent, env: dict[str, str], run_dir: Path, settings: dict[str, Any]
) -> Invocation:
    settings_file = run_dir / "claude-settings.json"
    settings_file.write_text(
        json.dumps(
            # --settings outranks the working copy's .claude/settings*.json, which could
            # otherwise switch every hook off with disableAllHooks: true.
            {"hooks": _hook_block("claude-code", _CLAUDE_EVENTS, 10), "disableAllHooks": False}
        ),
        encoding="utf-8",
    )
    argv = [settings["claude_bin"], "-p", str(agent.spec["prompt"]), "--output-format", "json"]
    argv += ["--settings", str(settings_file)]
    if agent.memory:
        argv += ["--append-system-prompt", agent.memory]
    if agent.spec.get("model"):
        argv += ["--model", str(agent.spec["model"])]
    tools = agent.spec.get("tools") or {}
    if tools.get("allow"):
        argv += ["--allowedTools", *_tool_names(tools["allow"])]
    if tools.get("deny"):
        argv += ["--disallowedTools", *_tool_names(tools["deny"])]
    if settings.get("gateway_url"):
        env.pop("ANTHROPIC_API_KEY", None)
        env.update(
            ANTHROPIC_BASE_URL=settings["gateway_url"],
            ANTHROPIC_AUTH_TOKEN=env["REINS_TOKEN"],
            ANTHROPIC_CUSTOM_HEADERS=f"X-Reins-Agent: {agent.name}\nX-Reins-Run: {env['REINS_RUN']}",
        )
    env.setdefault("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
    return Invocation(argv, env)


def _codex(
    agent: Agent, env: dict[str, str], run_dir: Path, settings: dict[str, Any]
) -> Invocation:
    home = run_dir / "codex-home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "hooks.json").write_text(
        json.dumps({"hooks": _hook_block("codex", _CODEX_EVENTS, 10)}), encoding="utf-8"
    )
    lines = []
    if agent.spec.get("model"):
        lines.append(f"model = {json.dumps(agent.spec['model'])}")
    if settings.get("gateway_url"):
        lines += [
            'model_provider = "reins"',
            "[model_providers.reins]",
            'name = "Reins gateway"',
            f"base_url = {json.dumps(settings['gateway_url'] + '/v1')}",
            'env_key = "REINS_TOKEN"',
            'wire_api = "responses"',
            'env_http_headers = { "X-Reins-Agent" = "REINS_AGENT", "X-Reins-Run" = "REINS_RUN" }',
        ]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env["CODEX_HOME"] = str(home)
    argv = [
        settings["codex_bin"],
        "exec",
        "--skip-git-repo-check",
        "--dangerously-bypass-hook-trust",
        # [features] hooks = false in a config file Codex loads switches every hook off: the
        # machine's /etc/codex/config.toml, or the working copy's .codex/config.toml were the
        # working copy ever trusted (the run's CODEX_HOME trusts none). The command line wins.
        "-c",
        "features.hooks=true",
    ]
    return Invocation([*argv, _prompt_with_memory(agent)], env)


def _gemini(
    agent: Agent, env: dict[str, str], run_dir: Path, settings: dict[str, Any]
) -> Invocation:
    # The hooks go in the user settings of a Gemini home of the run's own (``GEMINI_CLI_HOME``,
    # as Codex gets its own ``CODEX_HOME``), not in system settings: Gemini CLI 0.61.0 silently
    # skips a system settings file below a group- or world-writable directory (such as /tmp),
    # which would leave the run without hooks.
    home = run_dir / "gemini-home"
    (home / ".gemini").mkdir(parents=True, exist_ok=True)
    # A name of the run's own: the working copy's ``hooksConfig.disabled`` (which every settings
    # file adds to, and nothing overrides) cannot list it (see ``workspace.check_gemini_settings``).
    name = f"reins-{secrets.token_hex(8)}"
    user: dict[str, Any] = {"hooks": _hook_block("gemini", _GEMINI_EVENTS, 10_000, name)}
    # Trusted, whatever the host's settings say: Gemini CLI runs no hook at all in an untrusted
    # folder. Both variables set, so a working copy's .env (which never overrides one already
    # set) cannot untrust it with GEMINI_RESTRICTED_MODE=true (installers/gemini_trust.py).
    env.update(
        GEMINI_CLI_HOME=str(home), GEMINI_CLI_TRUST_WORKSPACE="true", GEMINI_RESTRICTED_MODE="false"
    )
    # Gemini CLI sends no session id with its model requests, so the run picks one: the hooks
    # report it, and the gateway reads it from the ``session-id`` header (as for Codex), so the
    # run's usage rows join its audit rows.
    session = str(uuid.uuid4())
    if settings.get("gateway_url"):
        # The run token is then the only credential. With GOOGLE_GEMINI_BASE_URL alone Gemini CLI
        # 0.61.0 picks the auth type "gateway" and exits 41 ("Invalid auth method selected");
        # this one still uses the base URL (installers/gemini.py sets the same for developers).
        user["security"] = {"auth": {"selectedType": "gemini-api-key"}}
        headers = [env.get("GEMINI_CLI_CUSTOM_HEADERS", ""), f"session-id: {session}"]
        env.update(
            GOOGLE_GEMINI_BASE_URL=settings["gateway_url"],
            GEMINI_API_KEY=env["REINS_TOKEN"],
            GEMINI_CLI_CUSTOM_HEADERS=", ".join(h for h in headers if h),
        )
    (home / ".gemini" / "settings.json").write_text(json.dumps(user), encoding="utf-8")
    argv = [settings["gemini_bin"], "-p", _prompt_with_memory(agent), "-o", "json", "--yolo"]
    argv += ["--session-id", session]
    if agent.spec.get("model"):
        argv += ["-m", str(agent.spec["model"])]
    return Invocation(argv, env)


def summarize(harness: str, stdout: str, stderr: str) -> dict[str, Any]:
    """The run's result summary: what the harness said it did, cut to a readable size."""
    document = _last_json_object(stdout)
    if harness == "claude-code" and document is not None:
        denials = document.get("permission_denials") or []
        return {
            "result": str(document.get("result", ""))[:SUMMARY_CHARS],
            "subtype": document.get("subtype", ""),
            "is_error": bool(document.get("is_error", False)),
            "num_turns": document.get("num_turns"),
            "session_id": document.get("session_id", ""),
            "harness_cost_usd": document.get("total_cost_usd"),
            "permission_denials": [d.get("tool_name", "") for d in denials if isinstance(d, dict)],
        }
    if harness == "gemini" and document is not None:
        error = document.get("error")
        return {
            "result": str(document.get("response", ""))[:SUMMARY_CHARS],
            "is_error": bool(error),
            "error": str(error)[:SUMMARY_CHARS] if error else "",
            "session_id": str(document.get("session_id", "")),
        }
    session = re.search(r"session id:\s*([0-9a-f-]{8,})", stderr)
    return {
        "result": stdout.strip()[-SUMMARY_CHARS:],
        "is_error": False,
        "session_id": session.group(1) if session else "",
    }


def _last_json_object(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
