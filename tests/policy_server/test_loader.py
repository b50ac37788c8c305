"""Loading policy directories: every broken file becomes a file:line problem, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_server.loader import BUNDLED_POLICIES, PolicyLoadError, load, load_strict

GOOD = """\
policy: demo
rules:
  - id: demo.rm
    tools: Bash
    decision: deny
    reason: "no"
    when:
      command: {program: rm, flags: {all: [recursive]}}
    tests:
      - {command: "rm -r /", expect: deny}
      - {command: "ls", expect: allow}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_bundled_pack_loads_without_errors() -> None:
    pack = load(BUNDLED_POLICIES)
    assert not pack.errors, "\n".join(map(str, pack.errors))
    assert len(pack.policies.rules) >= 30
    assert pack.policies.revision.startswith("sha256:")


def test_a_good_file_compiles_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", GOOD)
    pack = load_strict(tmp_path)
    (rule,) = pack.policies.rules
    assert (rule.id, rule.line, rule.source.endswith("demo.yaml")) == ("demo.rm", 3, True)


def test_revision_changes_with_content(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", GOOD)
    first = load(tmp_path).policies.revision
    write(tmp_path, "demo.yaml", GOOD.replace('reason: "no"', 'reason: "nope"'))
    assert load(tmp_path).policies.revision != first


def test_schema_folders_and_pack_settings_are_not_rule_files(tmp_path: Path) -> None:
    write(tmp_path, "demo.yaml", GOOD)
    write(tmp_path, "agents/bot.yaml", "name: bot\nharness: codex\nowner: a\n")  # an agent
    write(tmp_path, "pack.yaml", "default_decision: ask\n")
    pack = load_strict(tmp_path)
    assert pack.policies.default_decision == "ask"
    assert [p.name for p in pack.files] == ["demo.yaml"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("policy: x\nrules:\n  - id: a\n    decision: deny\n  reason: [\n", 5, "invalid YAML"),
        (
            "policy: x\nrules:\n  - id: a\n    decison: deny\n    reason: r\n",
            3,
            "'decison' was unexpected",
        ),
        (
            "policy: x\nrules:\n  - id: a\n    decision: block\n    reason: r\n",
            4,
            "'block' is not one of",
        ),
        (
            "policy: x\nrules:\n  - id: a\n    decision: deny\n",
            3,
            "'reason' is a required property",
        ),
        (
            "policy: x\nrules:\n  - id: a\n    decision: deny\n    reason: r\n    when: {command: {text: '('}}\n",
            6,
            "invalid regular expression",
        ),
        (
            "policy: x\nrules:\n  - id: a\n    decision: deny\n    decision: allow\n    reason: r\n",
            5,
            "duplicate key 'decision'",
        ),
        (
            "policy: x\nrules:\n  - id: a\n    decision: deny\n    reason: r\n    severity: 3\n",
            6,
            "severity",
        ),
        ("- just\n- a list\n", 1, "is not of type 'object'"),
    ],
)
def test_broken_files_name_file_line_and_fix(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    write(tmp_path, "bad.yaml", text)
    pack = load(tmp_path)
    assert pack.errors, "expected an error"
    messages = [str(p) for p in pack.errors]
    assert any(f"bad.yaml:{line}:" in m and fragment in m for m in messages), messages


def test_load_strict_raises_with_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "policy: a\nrules: 3\n")
    write(tmp_path, "b.yaml", "policy: [\n")
    with pytest.raises(PolicyLoadError) as info:
        load_strict(tmp_path)
    assert {Path(p.file).name for p in info.value.problems} == {"a.yaml", "b.yaml"}


def test_missing_directory_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    pack = load(tmp_path / "nope")
    assert "policy directory not found" in str(pack.errors[0])


def test_non_utf8_file(tmp_path: Path) -> None:
    (tmp_path / "latin.yaml").write_bytes(b"policy: caf\xe9\n")
    assert "not UTF-8" in str(load(tmp_path).errors[0])
