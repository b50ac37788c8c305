"""A fake `claude` for scheduler tests, and a policy directory with one scheduled agent.

The fake behaves like `claude -p … --output-format json` where the scheduler can tell: it reads
the `--settings` file the scheduler wrote, runs its PreToolUse hook command (the real Reins hook
client, talking to a real `reins serve`) on a Bash call, honours the hook's decision, and prints
a result JSON with `permission_denials`. Knobs come from the agent's `environment`:
FAKE_COMMAND (the Bash command it tries), FAKE_SLEEP (seconds), FAKE_LOG (start/end lines),
FAKE_CHILD_PIDS (spawn a long-lived child in the same process group and record its pid),
FAKE_USAGE_DB (write one gateway usage row for the run, as the gateway would).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from policy_server.loader import BUNDLED_POLICIES

FAKE_CLAUDE = """\
#!{python}
import json, os, sqlite3, subprocess, sys, time, uuid

args = sys.argv[1:]
prompt = args[args.index("-p") + 1]
settings = json.load(open(args[args.index("--settings") + 1]))
run = os.environ.get("REINS_RUN", "")
log = os.environ.get("FAKE_LOG")
if log:
    with open(log, "a") as f:
        f.write(f"start {{run}} {{time.time()}}\\n")
if os.environ.get("FAKE_CHILD_PIDS"):
    child = subprocess.Popen(["sleep", "300"])
    with open(os.environ["FAKE_CHILD_PIDS"], "a") as f:
        f.write(f"{{child.pid}}\\n")
session = "fake-" + uuid.uuid4().hex[:8]
payload = {{"session_id": session, "cwd": os.getcwd(), "hook_event_name": "PreToolUse",
           "tool_name": "Bash", "tool_input": {{"command": os.environ.get("FAKE_COMMAND", "ls")}}}}
denials = []
for group in settings["hooks"]["PreToolUse"]:
    for hook in group["hooks"]:
        done = subprocess.run(hook["command"], shell=True, input=json.dumps(payload),
                              capture_output=True, text=True, timeout=30)
        answer = json.loads(done.stdout or "{{}}").get("hookSpecificOutput", {{}})
        if answer.get("permissionDecision") == "deny":
            denials.append({{"tool_name": "Bash", "tool_use_id": "toolu_1", "tool_input": payload["tool_input"]}})
if os.environ.get("FAKE_USAGE_DB"):
    conn = sqlite3.connect(os.environ["FAKE_USAGE_DB"], timeout=30)
    conn.execute("INSERT INTO usage (request_id, time_us, agent, run_id, session_id, inbound, endpoint,"
                 " model, status, outcome, input_tokens, output_tokens, cost_usd, latency_us)"
                 " VALUES (?, ?, ?, ?, ?, 'anthropic', 'messages', 'claude-sonnet', 200, 'ok', 1000, 200, 0.0125, 900)",
                 (uuid.uuid4().hex, time.time_ns() // 1000, os.environ["REINS_AGENT"], run, session))
    conn.commit()
time.sleep(float(os.environ.get("FAKE_SLEEP", "0")))
if log:
    with open(log, "a") as f:
        f.write(f"end {{run}} {{time.time()}}\\n")
print(json.dumps({{"type": "result", "subtype": "success", "is_error": False, "num_turns": 2,
                  "result": "done: " + prompt[:40], "session_id": session, "total_cost_usd": 0.5,
                  "permission_denials": denials}}))
"""


@pytest.fixture
def fake_claude(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "claude"
    path.parent.mkdir()
    path.write_text(FAKE_CLAUDE.format(python=sys.executable))
    path.chmod(0o755)
    return path


@pytest.fixture
def make_pack(tmp_path: Path):
    """A copy of the bundled policies with one agent written from keyword arguments."""

    def make(**fields: object) -> Path:
        directory = tmp_path / "policies"
        if not directory.exists():
            shutil.copytree(BUNDLED_POLICIES, directory)
        workdir = tmp_path / "work"
        workdir.mkdir(exist_ok=True)
        spec = {
            "name": "nightly-test",
            "harness": "claude-code",
            "owner": "alice",
            "working_directory": str(workdir),
            "prompt": "Check the build and report.",
            "tools": {"allow": ["@read"]},
            "schedule": {"cron": "*/5 * * * *", "timezone": "UTC"},
            "max_runtime": "2m",
            **fields,
        }
        (directory / "agents" / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec))
        return directory

    return make


@pytest.fixture
def scheduler_settings(tmp_path: Path):
    def make(server_url: str, claude_bin: Path | str, **extra: object) -> dict:
        return {
            "server_url": server_url,
            "gateway_url": None,
            "tick": 0.2,
            "late_grace": 120.0,
            "runs_dir": str(tmp_path / "runs"),
            "claude_bin": str(claude_bin),
            "codex_bin": "codex",
            "gemini_bin": "gemini",
            **extra,
        }

    return make
