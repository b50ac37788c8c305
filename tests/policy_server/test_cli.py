"""``reins policy …`` as a user runs it: exit codes, output shapes and one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reins.cli import main

ROOT = Path(__file__).resolve().parents[2]
PUSH = {
    "hook_event_name": "PreToolUse",
    "cwd": "/home/dev/p",
    "session_id": "s",
    "tool_name": "Bash",
    "tool_input": {"command": "git push --force origin main"},
}


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: bytes = b"",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REINS_POLICIES", "REINS_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_eval_prints_the_decision(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, ["policy", "eval"], json.dumps(PUSH).encode())
    result = json.loads(out)
    assert code == 0
    assert result["decision"] == "deny"
    assert "git.force-push-protected" in result["rules"]
    assert result["reason"].startswith("Reins git.force-push-protected:")
    assert result["harness"] == "claude-code"
    assert result["harness_output"]["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert result["revision"].startswith("sha256:")


def test_eval_detects_codex_and_turns_ask_into_deny(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = dict(PUSH, turn_id="t", model="gpt", tool_input={"command": "git push origin main"})
    code, out, _ = run(monkeypatch, capsys, ["policy", "eval"], json.dumps(payload).encode())
    result = json.loads(out)
    assert (code, result["harness"], result["decision"], result["enforced_decision"]) == (
        0,
        "codex",
        "ask",
        "deny",
    )
    assert result["harness_output"]["hookSpecificOutput"]["permissionDecisionReason"]


def test_eval_allows_ordinary_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = dict(PUSH, tool_input={"command": "npm test"})
    code, out, _ = run(
        monkeypatch, capsys, ["policy", "eval", "--agent", "ci-bot"], json.dumps(payload).encode()
    )
    result = json.loads(out)
    assert (code, result["decision"], result["rules"], result["harness_output"]) == (
        0,
        "allow",
        [],
        {},
    )


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        (b"{not json", "payload is not valid JSON"),
        (b"", "no payload on stdin"),
        (b"[1, 2]", "JSON object"),
        (b'{"tool_name": "Bash"}', "hook_event_name"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_eval_rejects_bad_input_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: bytes, fragment: str
) -> None:
    code, out, err = run(monkeypatch, capsys, ["policy", "eval"], stdin)
    assert code == 2 and out == ""
    assert fragment in err and err.count("\n") == 1, err


def test_eval_with_broken_policies_refuses_to_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yaml").write_text("policy: x\nrules:\n  - id: a\n", encoding="utf-8")
    code, out, err = run(
        monkeypatch,
        capsys,
        ["policy", "eval", "--policies", str(tmp_path)],
        json.dumps(PUSH).encode(),
    )
    assert code == 2 and out == ""
    assert "bad.yaml:3" in err and "'decision' is a required property" in err


def test_policies_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yaml").write_text(
        "policy: p\nrules:\n  - {id: all.ask, decision: ask, reason: r, tools: Bash}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("REINS_POLICIES", str(tmp_path))
    _, out, _ = run(monkeypatch, capsys, ["policy", "eval"], json.dumps(PUSH).encode())
    assert json.loads(out)["rules"] == ["all.ask"]


def test_explain_shows_the_parsed_command_and_each_rule(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = dict(PUSH, tool_input={"command": "sudo bash -c 'rm -rf ~'"})
    code, out, _ = run(
        monkeypatch,
        capsys,
        ["policy", "explain", "--home", "/home/dev"],
        json.dumps(payload).encode(),
    )
    assert code == 0
    assert "command: rm -rf /home/dev" in out or "command: rm" in out
    assert "MATCH fs.rm-root-home" in out
    assert "-     git.force-push-protected [deny]: the event has none of ['sub:git push']" in out
    assert "prompt.secret" not in out  # other events are only listed with --all
    assert out.rstrip().splitlines()[-1].startswith("decision: deny")


def test_explain_json(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(monkeypatch, capsys, ["policy", "explain", "--json"], json.dumps(PUSH).encode())
    data: dict[str, Any] = json.loads(out)
    assert data["decision"]["decision"] == "deny"
    assert any(r["id"] == "git.force-push-protected" and r["matched"] for r in data["rules"])


def test_test_prints_the_summary_and_passes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junit = tmp_path / "policy.xml"
    code, out, _ = run(monkeypatch, capsys, ["policy", "test", "--junit", str(junit)])
    last = out.strip().splitlines()[-1]
    assert code == 0, out
    assert last.endswith("passed, 0 failed")
    assert int(last.split()[0]) >= 200
    assert "<testsuite" in junit.read_text(encoding="utf-8")


def test_test_fails_on_a_wrong_expectation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.yaml").write_text(
        "policy: p\nrules:\n  - id: p.rm\n    tools: Bash\n    decision: deny\n    reason: r\n"
        "    when: {command: {program: rm}}\n    tests:\n"
        "      - {command: 'rm x', expect: deny}\n      - {command: 'ls', expect: deny}\n",
        encoding="utf-8",
    )
    code, out, _ = run(monkeypatch, capsys, ["policy", "test", str(tmp_path)])
    assert code == 1
    assert "FAIL" in out and "p.rm #2 command: ls: expected deny, got allow" in out
    assert out.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_lint_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, ["policy", "lint"])
    assert code == 0 and " 0 errors" in out
    (tmp_path / "p.yaml").write_text(
        "policy: p\nrules:\n  - {id: a, decision: nope, reason: r}\n", encoding="utf-8"
    )
    code, out, _ = run(monkeypatch, capsys, ["policy", "lint", str(tmp_path)])
    assert code == 1 and "p.yaml:3: error [a]" in out


def test_unknown_config_key_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "reins.yaml"
    cfg.write_text("polices: ./p\n", encoding="utf-8")
    code, _, err = run(monkeypatch, capsys, ["policy", "lint", "--config", str(cfg)])
    assert code == 2 and "unknown setting 'polices'. Did you mean 'policies'?" in err


def test_console_script_runs_and_every_verb_has_help() -> None:
    reins = ROOT / ".venv" / "bin" / "reins"
    command = [str(reins)] if reins.exists() else [sys.executable, "-m", "reins.cli"]
    for verb in (
        [],
        ["policy"],
        ["policy", "lint"],
        ["policy", "test"],
        ["policy", "eval"],
        ["policy", "explain"],
    ):
        out = subprocess.run(
            [*command, *verb, "--help"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0 and "usage: reins" in out.stdout, out.stderr
    done = subprocess.run(
        [*command, "policy", "eval"],
        input=json.dumps(PUSH),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["decision"] == "deny"
