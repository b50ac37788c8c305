"""Decision -> the exact JSON a harness accepts on a hook's stdout.

Each harness fails open on output it does not understand (harnesses.md §1.4, §2.3, §3), so a
wrong shape silently lets the action run. The traps this module exists for:

- Codex rejects ``permissionDecision: "ask"`` and a deny with an empty reason (the tool then
  runs) and any ``allow`` without ``updatedInput``: it gets deny-or-nothing, and ``ask`` becomes
  a deny whose reason says how to get approval (audited as ``ask``, enforced ``deny``).
- Gemini CLI has no ``ask`` at all; it gets the same deny-with-explanation.
- Claude Code can only ``ask`` on PreToolUse; on PermissionRequest an ``ask`` is the harness's
  own dialog (``{}``); elsewhere ``ask`` can only be a block.
- Events that cannot block (SessionEnd, Notification, PreCompact, ...) always get ``{}``.

How each (harness, event) answers is one table, :data:`SHAPES`; ``enforced_decision`` is
derived from the same table so the audit log records exactly what the harness was told.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, FrozenSet

from .adapters import GEMINI_EVENTS
from .events import HARNESSES

DECISIONS = ("allow", "deny", "ask")

HARNESS_LABELS = {"claude-code": "Claude Code", "codex": "Codex", "gemini": "Gemini CLI"}

DEFAULT_DENY_REASON = "Blocked by Reins policy."
DEFAULT_ASK_REASON = "Reins policy requires approval for this action."
DEFAULT_ALLOW_REASON = "Allowed by Reins policy."
ASK_AS_DENY_NOTE = (
    " (Reins: this action needs approval, which {harness} hooks cannot ask for; "
    "ask an admin to allow it or run it yourself.)"
)

# (harness, harness-neutral event) -> output shape. Events not listed cannot block.
SHAPES: Dict[str, Dict[str, str]] = {
    "claude-code": {
        "PreToolUse": "permission_decision",
        "PermissionRequest": "permission_request",
        "UserPromptSubmit": "block",
        "PostToolUse": "block",
        "Stop": "block",
        "SubagentStop": "block",
        "SessionStart": "stop_session",
    },
    "codex": {
        "PreToolUse": "deny_only_permission_decision",
        "PermissionRequest": "permission_request",
        "UserPromptSubmit": "block",
        "PostToolUse": "block",
        "Stop": "block",
        "SubagentStop": "block",
        "SessionStart": "stop_session",
    },
    "gemini": {
        "PreToolUse": "gemini_deny",
        "PostToolUse": "gemini_deny",  # AfterTool: the reason replaces the tool result
        "UserPromptSubmit": "gemini_deny",
        "Stop": "gemini_deny",  # AfterAgent: the reason goes back to the agent as a retry prompt
        "BeforeModel": "gemini_deny",
        "AfterModel": "gemini_deny",
    },
}

# Shapes that can express "ask" natively; every other blocking shape turns ask into deny.
_ASK_SHAPES: FrozenSet[str] = frozenset({"permission_decision", "permission_request"})

# Events whose ``hookSpecificOutput.additionalContext`` each harness reads.
CONTEXT_EVENTS: Dict[str, FrozenSet[str]] = {
    harness: frozenset({"SessionStart", "UserPromptSubmit", "PostToolUse"}) for harness in HARNESSES
}

# Gemini's own names go into ``hookEventName``; callers may pass either spelling.
_GEMINI_NATIVE = {neutral: native for native, neutral in GEMINI_EVENTS.items()}


def enforced_decision(harness: str, event_name: str, decision: str) -> str:
    """What the harness is effectively told for ``decision`` (recorded next to it in the audit)."""
    _check(harness, decision)
    shape = SHAPES[harness].get(_neutral(harness, event_name))
    if shape is None:
        return "allow"
    if decision == "ask" and shape not in _ASK_SHAPES:
        return "deny"
    return decision


def render(
    harness: str,
    event_name: str,
    decision: str,
    reason: str,
    explicit_allow: bool = False,
    additional_context: str = "",
) -> Dict[str, Any]:
    """The JSON object to print on the hook's stdout (exit 0) for this decision.

    ``explicit_allow`` means an allow rule matched (not just "nothing objected"): only then is
    Claude Code told ``allow``, which skips its own permission prompt.
    """
    event = _neutral(harness, event_name)
    enforced = enforced_decision(harness, event, decision)
    shape = SHAPES[harness].get(event)
    out: Dict[str, Any] = {}
    if shape is not None:
        text = _reason(harness, decision, enforced, reason if isinstance(reason, str) else "")
        out = _RENDERERS[shape](event, enforced, text, explicit_allow)
    if additional_context and event in CONTEXT_EVENTS[harness]:
        specific = out.setdefault("hookSpecificOutput", {"hookEventName": _native(harness, event)})
        specific["additionalContext"] = additional_context
    return out


# --- helpers ----------------------------------------------------------------------------------


def _check(harness: str, decision: str) -> None:
    if harness not in HARNESSES:
        raise ValueError(f"unknown harness {harness!r}: use one of {', '.join(HARNESSES)}")
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}: use one of {', '.join(DECISIONS)}")


def _neutral(harness: str, event_name: str) -> str:
    return GEMINI_EVENTS.get(event_name, event_name) if harness == "gemini" else event_name


def _native(harness: str, event: str) -> str:
    return _GEMINI_NATIVE.get(event, event) if harness == "gemini" else event


def _reason(harness: str, decision: str, enforced: str, reason: str) -> str:
    """Never empty (Codex treats an empty deny reason as no decision and runs the tool); an ask
    enforced as deny says why and what to do instead."""
    text = reason.strip()
    if enforced == "deny":
        text = text or DEFAULT_DENY_REASON
        if decision == "ask":
            text += ASK_AS_DENY_NOTE.format(harness=HARNESS_LABELS[harness])
        return text
    if enforced == "ask":
        return text or DEFAULT_ASK_REASON
    return text or DEFAULT_ALLOW_REASON


# --- renderers: (event, enforced decision, reason, explicit_allow) -> output --------------------


def _permission_decision(event: str, enforced: str, reason: str, explicit: bool) -> Dict[str, Any]:
    """Claude Code PreToolUse: allow only when a rule allowed it, else no opinion."""
    if enforced == "allow" and not explicit:
        return {}
    return {
        "hookSpecificOutput": {
            "hookEventName": event,
            "permissionDecision": enforced,
            "permissionDecisionReason": reason,
        }
    }


def _deny_only_permission_decision(
    event: str, enforced: str, reason: str, explicit: bool
) -> Dict[str, Any]:
    """Codex PreToolUse: allow without ``updatedInput`` is invalid, so allow is always ``{}``."""
    if enforced != "deny":
        return {}
    return _permission_decision(event, enforced, reason, explicit)


def _permission_request(event: str, enforced: str, reason: str, explicit: bool) -> Dict[str, Any]:
    """PermissionRequest: ask and plain allow leave the harness's own dialog to the user."""
    if enforced == "deny":
        decision: Dict[str, Any] = {"behavior": "deny", "message": reason}
    elif enforced == "allow" and explicit:
        decision = {"behavior": "allow"}
    else:
        return {}
    return {"hookSpecificOutput": {"hookEventName": event, "decision": decision}}


def _block(event: str, enforced: str, reason: str, explicit: bool) -> Dict[str, Any]:
    return {"decision": "block", "reason": reason} if enforced == "deny" else {}


def _stop_session(event: str, enforced: str, reason: str, explicit: bool) -> Dict[str, Any]:
    return {"continue": False, "stopReason": reason} if enforced == "deny" else {}


def _gemini_deny(event: str, enforced: str, reason: str, explicit: bool) -> Dict[str, Any]:
    return {"decision": "deny", "reason": reason} if enforced == "deny" else {}


_RENDERERS: Dict[str, Callable[[str, str, str, bool], Dict[str, Any]]] = {
    "permission_decision": _permission_decision,
    "deny_only_permission_decision": _deny_only_permission_decision,
    "permission_request": _permission_request,
    "block": _block,
    "stop_session": _stop_session,
    "gemini_deny": _gemini_deny,
}
