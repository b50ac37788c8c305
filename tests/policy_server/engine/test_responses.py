"""responses: each decision rendered as the exact JSON each harness accepts (harnesses.md)."""

from __future__ import annotations

import json

import pytest

from policy_server.engine.events import EVENTS, HARNESSES
from policy_server.engine.responses import (
    DECISIONS,
    DEFAULT_DENY_REASON,
    enforced_decision,
    render,
)

R = "Reins git.force-push: open a PR instead"
CODEX_ASK = R + (
    " (Reins: this action needs approval, which Codex hooks cannot ask for; "
    "ask an admin to allow it or run it yourself.)"
)
GEMINI_ASK = CODEX_ASK.replace("Codex", "Gemini CLI")
CLAUDE_ASK = CODEX_ASK.replace("Codex", "Claude Code")


def pre_tool(decision, reason=R):
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }


def permission_request(behavior, message=None):
    decision = {"behavior": behavior}
    if message is not None:
        decision["message"] = message
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}


def block(reason=R):
    return {"decision": "block", "reason": reason}


def gemini_deny(reason=R):
    return {"decision": "deny", "reason": reason}


STOP_SESSION = {"continue": False, "stopReason": R}
GEMINI_BLOCKING = (
    "PreToolUse",
    "PostToolUse",
    "UserPromptSubmit",
    "Stop",
    "BeforeModel",
    "AfterModel",
)

# (harness, event) -> {decision: expected output}. Every pair not listed renders {} throughout.
BLOCKING = {
    ("claude-code", "PreToolUse"): {"allow": {}, "deny": pre_tool("deny"), "ask": pre_tool("ask")},
    ("claude-code", "PermissionRequest"): {
        "allow": {},
        "deny": permission_request("deny", R),
        "ask": {},
    },
    ("claude-code", "UserPromptSubmit"): {"allow": {}, "deny": block(), "ask": block(CLAUDE_ASK)},
    ("claude-code", "PostToolUse"): {"allow": {}, "deny": block(), "ask": block(CLAUDE_ASK)},
    ("claude-code", "Stop"): {"allow": {}, "deny": block(), "ask": block(CLAUDE_ASK)},
    ("claude-code", "SubagentStop"): {"allow": {}, "deny": block(), "ask": block(CLAUDE_ASK)},
    ("claude-code", "SessionStart"): {
        "allow": {},
        "deny": STOP_SESSION,
        "ask": {"continue": False, "stopReason": CLAUDE_ASK},
    },
    ("codex", "PreToolUse"): {
        "allow": {},
        "deny": pre_tool("deny"),
        "ask": pre_tool("deny", CODEX_ASK),
    },
    ("codex", "PermissionRequest"): {"allow": {}, "deny": permission_request("deny", R), "ask": {}},
    ("codex", "UserPromptSubmit"): {"allow": {}, "deny": block(), "ask": block(CODEX_ASK)},
    ("codex", "PostToolUse"): {"allow": {}, "deny": block(), "ask": block(CODEX_ASK)},
    ("codex", "Stop"): {"allow": {}, "deny": block(), "ask": block(CODEX_ASK)},
    ("codex", "SubagentStop"): {"allow": {}, "deny": block(), "ask": block(CODEX_ASK)},
    ("codex", "SessionStart"): {
        "allow": {},
        "deny": STOP_SESSION,
        "ask": {"continue": False, "stopReason": CODEX_ASK},
    },
    **{
        ("gemini", event): {"allow": {}, "deny": gemini_deny(), "ask": gemini_deny(GEMINI_ASK)}
        for event in GEMINI_BLOCKING
    },
}

ALL_EVENTS = (*EVENTS, "SomeFutureEvent")
CASES = [(h, e, d) for h in HARNESSES for e in ALL_EVENTS for d in DECISIONS]


@pytest.mark.parametrize("harness, event, decision", CASES)
def test_render_table(harness, event, decision):
    expected = BLOCKING.get((harness, event), {}).get(decision, {})
    assert render(harness, event, decision, R) == expected


ENFORCED = {
    # (harness, event): {decision: enforced}; listed where it differs from the decision itself.
    **{(h, e): {"ask": "deny"} for (h, e) in BLOCKING if (h, e) != ("claude-code", "PreToolUse")},
    ("claude-code", "PreToolUse"): {},
    ("claude-code", "PermissionRequest"): {},
    ("codex", "PermissionRequest"): {},
}


@pytest.mark.parametrize("harness, event, decision", CASES)
def test_enforced_decision_table(harness, event, decision):
    if (harness, event) not in BLOCKING:
        expected = "allow"
    else:
        expected = ENFORCED[(harness, event)].get(decision, decision)
    assert enforced_decision(harness, event, decision) == expected


@pytest.mark.parametrize("harness, event, decision", CASES)
def test_enforced_decision_agrees_with_rendered_output(harness, event, decision):
    """The audit's ``enforced`` column must describe what was actually printed."""
    out = render(harness, event, decision, R)
    enforced = enforced_decision(harness, event, decision)
    if enforced == "allow":
        assert out == {}
    elif enforced == "ask":
        assert "deny" not in json.dumps(out)
    else:
        assert out != {}


# --- explicit allow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "harness, event, expected",
    [
        ("claude-code", "PreToolUse", pre_tool("allow", "ok by rule")),
        ("claude-code", "PermissionRequest", permission_request("allow")),
        ("codex", "PreToolUse", {}),
        ("codex", "PermissionRequest", permission_request("allow")),
        ("gemini", "PreToolUse", {}),
        ("claude-code", "UserPromptSubmit", {}),
        ("claude-code", "SessionEnd", {}),
    ],
)
def test_explicit_allow(harness, event, expected):
    assert render(harness, event, "allow", "ok by rule", explicit_allow=True) == expected


def test_explicit_allow_without_reason_gets_one():
    out = render("claude-code", "PreToolUse", "allow", "", explicit_allow=True)
    assert out["hookSpecificOutput"]["permissionDecisionReason"]


# --- Codex traps ------------------------------------------------------------------------------


def _walk(value):
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _walk(child)


@pytest.mark.parametrize("event", ALL_EVENTS)
@pytest.mark.parametrize("decision", DECISIONS)
@pytest.mark.parametrize("reason", ["", "   ", "\n", R])
@pytest.mark.parametrize("explicit", [False, True])
def test_codex_never_gets_ask_allow_or_an_empty_reason(event, decision, reason, explicit):
    out = render("codex", event, decision, reason, explicit_allow=explicit)
    for node in _walk(out):
        if "permissionDecision" in node:
            assert node["permissionDecision"] == "deny"
            assert node["permissionDecisionReason"].strip()
        if node.get("decision") == "block":
            assert node["reason"].strip()
        if node.get("behavior") == "deny":
            assert node["message"].strip()
        if "stopReason" in node:
            assert node["stopReason"].strip()
        assert node.get("decision") != "ask"


@pytest.mark.parametrize("harness", HARNESSES)
@pytest.mark.parametrize("reason", ["", "  "])
def test_empty_deny_reason_is_substituted(harness, reason):
    out = render(harness, "PreToolUse", "deny", reason)
    assert DEFAULT_DENY_REASON in json.dumps(out)


@pytest.mark.parametrize("harness", ["codex", "gemini"])
def test_ask_without_reason_still_explains_how_to_get_approval(harness):
    text = json.dumps(render(harness, "PreToolUse", "ask", ""))
    assert DEFAULT_DENY_REASON in text and "needs approval" in text


def test_claude_native_ask_gets_a_reason_when_empty():
    out = render("claude-code", "PreToolUse", "ask", "")
    assert out["hookSpecificOutput"]["permissionDecisionReason"].strip()


def test_non_string_reason_is_treated_as_empty():
    out = render("codex", "PreToolUse", "deny", None)
    assert out["hookSpecificOutput"]["permissionDecisionReason"] == DEFAULT_DENY_REASON


# --- Gemini native names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "native, neutral",
    [("BeforeTool", "PreToolUse"), ("BeforeAgent", "UserPromptSubmit"), ("AfterAgent", "Stop")],
)
def test_gemini_accepts_its_own_event_names(native, neutral):
    assert render("gemini", native, "deny", R) == render("gemini", neutral, "deny", R)
    assert enforced_decision("gemini", native, "ask") == "deny"


def test_gemini_session_start_cannot_block():
    assert render("gemini", "SessionStart", "deny", R) == {}
    assert enforced_decision("gemini", "SessionStart", "deny") == "allow"


# --- additional context -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "harness, event, hook_event_name",
    [
        ("claude-code", "SessionStart", "SessionStart"),
        ("claude-code", "UserPromptSubmit", "UserPromptSubmit"),
        ("claude-code", "PostToolUse", "PostToolUse"),
        ("codex", "SessionStart", "SessionStart"),
        ("codex", "UserPromptSubmit", "UserPromptSubmit"),
        ("codex", "PostToolUse", "PostToolUse"),
        ("gemini", "SessionStart", "SessionStart"),
        ("gemini", "UserPromptSubmit", "BeforeAgent"),
        ("gemini", "PostToolUse", "AfterTool"),
    ],
)
def test_additional_context(harness, event, hook_event_name):
    out = render(harness, event, "allow", "", additional_context="Reins: repo is frozen")
    assert out == {
        "hookSpecificOutput": {
            "hookEventName": hook_event_name,
            "additionalContext": "Reins: repo is frozen",
        }
    }


def test_additional_context_rides_along_with_a_block():
    out = render("claude-code", "PostToolUse", "deny", R, additional_context="ctx")
    assert out == {
        "decision": "block",
        "reason": R,
        "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "ctx"},
    }


@pytest.mark.parametrize("harness", HARNESSES)
@pytest.mark.parametrize(
    "event", ["PreToolUse", "SessionEnd", "Notification", "PreCompact", "Stop"]
)
def test_additional_context_is_dropped_where_unsupported(harness, event):
    assert render(harness, event, "allow", "", additional_context="ctx") == {}


# --- argument errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "harness, decision",
    [("cursor", "deny"), ("claude", "allow"), ("codex", "block"), ("gemini", "Deny")],
)
def test_unknown_harness_or_decision(harness, decision):
    with pytest.raises(ValueError):
        render(harness, "PreToolUse", decision, R)
    with pytest.raises(ValueError):
        enforced_decision(harness, "PreToolUse", decision)


@pytest.mark.parametrize("harness, event, decision", CASES)
def test_output_is_json_serialisable(harness, event, decision):
    out = render(harness, event, decision, R, explicit_allow=True, additional_context="c")
    assert json.loads(json.dumps(out)) == out
