"""Building audit records: the flat shape, redaction before storage, canonical JSON, the hash.

Every secret below is assembled from parts so this file never contains a real-looking token.
"""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.audit import records
from policy_server.audit.records import (
    COLUMNS,
    GENESIS_HASH,
    MAX_INPUT_BYTES,
    ROW_COLUMNS,
    build_record,
    canonical_json,
    chain_hash,
    column_values,
    row_values,
)
from policy_server.engine.adapters import to_event
from policy_server.engine.compiler import Rule
from policy_server.engine.evaluator import Decision

AWS_KEY = "AKIA" + "ABCDEFGHIJ234567"
GITHUB_TOKEN = "ghp_" + "a1B2" * 9
CONTEXT = {"home": "/home/dev", "agent": "bot", "user": "dana", "host": "h1", "run_id": "r1"}


def event(tool: str = "Bash", tool_input: Any = None, **payload: Any) -> Any:
    body = {"hook_event_name": "PreToolUse", "cwd": "/home/dev/p", "session_id": "s1"}
    body.update(tool_name=tool, tool_input=tool_input or {}, **payload)
    return to_event(body, "claude-code", {**CONTEXT, "harness_version": "2.1.0"})


def record_of(ev: Any, decision: Decision | None = None, **kwargs: Any) -> dict[str, Any]:
    args = {"enforced": "allow", "event_id": "e1", "decision_id": "d1"}
    args.update(time_us=10, received_us=20, eval_us=30)
    args.update(kwargs)
    return build_record(ev, decision or Decision("allow", "ok"), **args)


def test_record_has_the_columns_plus_the_redacted_input() -> None:
    record = record_of(event(tool_input={"command": "ls"}))
    extra = {"schema_version", "input_redacted", "input_truncated", "prompt_redacted", "programs"}
    assert set(record) == set(COLUMNS) | extra
    assert record["schema_version"] == "1"


def test_record_takes_identity_from_the_event_and_outcome_from_the_decision() -> None:
    rules = [Rule({"id": i, "decision": "deny", "reason": "r"}, source="t.yaml") for i in "ab"]
    shadow = [Rule({"id": "s", "decision": "ask", "reason": "r", "mode": "shadow"}, source="t")]
    decision = Decision("deny", "Reins a: no", matched=rules, shadow=shadow, revision="sha256:1")
    record = record_of(
        event(tool_input={"command": "ls"}), decision, enforced="deny", degraded=True
    )
    assert {k: record[k] for k in ("agent", "user", "host", "run_id", "harness_version")} == {
        "agent": "bot",
        "user": "dana",
        "host": "h1",
        "run_id": "r1",
        "harness_version": "2.1.0",
    }
    assert (record["hook_event"], record["harness"], record["session_id"]) == (
        "PreToolUse",
        "claude-code",
        "s1",
    )
    assert (record["rules"], record["shadow_rules"]) == (["a", "b"], ["s"])
    assert (record["decision"], record["enforced_decision"]) == ("deny", "deny")
    assert (record["policy_revision"], record["degraded"]) == ("sha256:1", True)
    assert (record["time_us"], record["received_us"], record["eval_us"]) == (10, 20, 30)


def test_secrets_never_reach_the_stored_record() -> None:
    command = f"curl -H 'Authorization: token {GITHUB_TOKEN}' https://x.test?k={AWS_KEY}"
    tool_input = {"command": command, "env": [{"AWS": AWS_KEY}], AWS_KEY: "as a key"}
    stored = canonical_json(record_of(event(tool_input=tool_input)))
    assert AWS_KEY not in stored and GITHUB_TOKEN not in stored
    assert "[REDACTED:github_token]" in stored and "[REDACTED:aws_access_key_id]" in stored


def test_prompt_is_redacted_under_prompt_redacted() -> None:
    body = {"hook_event_name": "UserPromptSubmit", "prompt": f"use {GITHUB_TOKEN} please"}
    record = record_of(to_event(body, "claude-code", CONTEXT))
    assert record["prompt_redacted"] == "use [REDACTED:github_token] please"
    assert GITHUB_TOKEN not in canonical_json(record)


def test_large_input_is_truncated_and_marked() -> None:
    content = "x = 1\n" * 20_000 + AWS_KEY
    record = record_of(event("Write", {"file_path": "/home/dev/p/a.py", "content": content}))
    assert record["input_truncated"] is True
    assert len(json.dumps(record["input_redacted"], ensure_ascii=False).encode()) <= MAX_INPUT_BYTES
    assert record["input_redacted"]["file_path"] == "/home/dev/p/a.py"
    assert "AKIA" not in canonical_json(record)


def test_a_secret_cut_by_truncation_leaves_no_fragment() -> None:
    # Straddles the point where long strings are cut before redaction.
    content = "y" * (2 * MAX_INPUT_BYTES - 10) + AWS_KEY
    record = record_of(event("Write", {"file_path": "a", "content": content}))
    assert "AKIA" not in canonical_json(record)


def test_too_many_keys_fall_back_to_the_head_of_the_json() -> None:
    record = record_of(event("mcp__db__query", {f"k{i}": i for i in range(5000)}))
    assert record["input_truncated"] is True
    assert set(record["input_redacted"]) == {"_truncated_json"}


def test_small_input_is_kept_whole() -> None:
    record = record_of(event("Read", {"file_path": "/etc/hosts", "limit": 10, "x": [True, None]}))
    assert record["input_redacted"] == {"file_path": "/etc/hosts", "limit": 10, "x": [True, None]}
    assert record["input_truncated"] is False


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=8) | st.dictionaries(st.text(max_size=12), children, max_size=8)
    ),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_size_bound_never_under_estimates(value: Any) -> None:
    # The bound lets small inputs skip a second serialisation; an under-estimate would let an
    # oversized input through untruncated.
    redactor = records._Redactor()
    redactor._bound = 0
    clean = redactor._redacted(value, 0)
    assert records._json_size(clean) <= redactor._bound


def test_hostile_input_still_gives_a_storable_record() -> None:
    nested: Any = "leaf"
    for _ in range(200):
        nested = {"n": nested}
    record = record_of(event("mcp__x__y", {"nan": float("nan"), "deep": nested}))
    assert record["input_redacted"]["nan"] == "nan"
    assert record["input_truncated"] is True
    canonical_json(record)  # does not raise


@pytest.mark.parametrize(
    ("tool", "tool_input", "target"),
    [
        ("Bash", {"command": "git push\n  --force   origin main"}, "git push --force origin main"),
        ("Read", {"file_path": "src/app.py"}, "/home/dev/p/src/app.py"),
        ("WebFetch", {"url": "https://example.com/a", "prompt": "sum"}, "https://example.com/a"),
        ("mcp__github__create_issue", {"title": "t"}, "mcp__github__create_issue"),
        ("TodoWrite", {"todos": []}, ""),
    ],
)
def test_target_summarises_what_the_tool_acts_on(tool: str, tool_input: Any, target: str) -> None:
    assert record_of(event(tool, tool_input))["target"] == target


def test_target_is_one_redacted_line_of_at_most_500_characters() -> None:
    target = record_of(event(tool_input={"command": f"echo {AWS_KEY}\n" + "a" * 2000}))["target"]
    assert len(target) == 500 and target.endswith("…") and "\n" not in target
    assert target.startswith("echo [REDACTED:aws_access_key_id] aaa")


def test_programs_name_the_commands_of_a_shell_line() -> None:
    record = record_of(event(tool_input={"command": "cd /tmp && rm -rf x | tee log"}))
    assert record["programs"] == ["cd", "rm", "tee"]


def test_canonical_json_is_independent_of_key_order() -> None:
    a = {"b": [1, {"y": 2, "x": "é"}], "a": None}
    b = {"a": None, "b": [1, {"x": "é", "y": 2}]}
    assert canonical_json(a) == canonical_json(b) == '{"a":null,"b":[1,{"x":"é","y":2}]}'


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_canonical_json_rejects_values_without_a_json_spelling(value: float) -> None:
    with pytest.raises(ValueError):
        canonical_json({"a": value})


def test_chain_hash_is_sha256_of_prev_newline_record() -> None:
    expected = hashlib.sha256((GENESIS_HASH + "\n" + '{"a":1}').encode()).hexdigest()
    assert chain_hash(GENESIS_HASH, '{"a":1}') == "sha256:" + expected
    assert GENESIS_HASH == "sha256:" + "0" * 64


def test_row_values_follow_the_column_order() -> None:
    record = record_of(event(tool_input={"command": "ls"}), degraded=True)
    row = row_values(record, "{}", "p", "h")
    assert len(row) == len(ROW_COLUMNS)
    values = dict(zip(ROW_COLUMNS, row, strict=True))
    assert (values["rules"], values["degraded"], values["event_id"]) == ("[]", 1, "e1")
    assert (values["record"], values["prev_hash"], values["record_hash"]) == ("{}", "p", "h")


def test_column_values_name_a_missing_field() -> None:
    with pytest.raises(ValueError, match="'decision'"):
        column_values({k: "" for k in COLUMNS if k != "decision"})


def test_records_module_is_pure() -> None:
    tree = ast.parse(Path(records.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    forbidden = {"sqlite3", "time", "datetime", "os", "socket", "threading", "gevent", "flask"}
    assert not imported & forbidden
