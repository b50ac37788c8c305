"""Semantic lint: mistakes a schema cannot see, each with the rule id and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy_server.lint import lint
from policy_server.loader import BUNDLED_POLICIES, load

HEAD = "policy: x\nrules:\n"


def problems(tmp_path: Path, rules: str) -> list[str]:
    (tmp_path / "x.yaml").write_text(HEAD + rules, encoding="utf-8")
    pack = load(tmp_path)
    assert not pack.errors, pack.errors
    return [str(p) for p in lint(pack)]


def rule(id: str, extra: str = "", decision: str = "deny") -> str:
    tests = '    tests:\n      - {command: "rm -r /", expect: deny}\n      - {command: ls, expect: allow}\n'
    return f"  - id: {id}\n    decision: {decision}\n    reason: r\n{extra}{tests}"


def test_bundled_pack_lints_clean() -> None:
    pack = load(BUNDLED_POLICIES)
    found = [str(p) for p in pack.problems + lint(pack)]
    assert not found, "\n".join(found)


def test_duplicate_ids_across_rules(tmp_path: Path) -> None:
    found = problems(tmp_path, rule("a", "    tools: Bash\n") + rule("a", "    tools: Read\n"))
    assert any(
        "[a]" in m and "duplicate rule id (first defined at" in m and "x.yaml:3" in m for m in found
    ), found


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("    events: PreToolUsee\n", "unknown event 'PreToolUsee'; did you mean 'PreToolUse'?"),
        ("    tools: Bsh\n", "unknown tool 'Bsh'; did you mean 'Bash'?"),
        (
            "    tools: Read\n    when: {command: {program: rm}}\n",
            "condition `command` only applies to ['Bash']",
        ),
        ("    events: UserPromptSubmit\n    tools: Bash\n", "none of the events"),
        (
            "    events: PreToolUse\n    when: {prompt: x}\n",
            "`prompt` only applies to UserPromptSubmit",
        ),
        (
            "    tools: Bash\n    when: {command: {program: rm, flags: {all: [f], none: [f]}}}\n",
            "both required and forbidden",
        ),
    ],
)
def test_rules_that_can_never_match_or_name_unknown_things(
    tmp_path: Path, extra: str, fragment: str
) -> None:
    found = problems(tmp_path, rule("a", extra))
    assert any(fragment in m and "x.yaml:3" in m for m in found), found


def test_shadowed_rule_is_reported(tmp_path: Path) -> None:
    when = "    tools: Bash\n    when: {command: {program: rm}}\n"
    found = problems(tmp_path, rule("strong", when) + rule("weak", when, decision="ask"))
    assert any("[weak]" in m and "shadowed by strong" in m for m in found), found


def test_rules_without_tests_get_a_warning(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        HEAD + "  - id: a\n    decision: deny\n    reason: r\n", encoding="utf-8"
    )
    found = [str(p) for p in lint(load(tmp_path))]
    assert any("warning [a]: no inline tests" in m for m in found), found
