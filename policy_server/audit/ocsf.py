"""One audit record as an OCSF 1.6.0 API Activity event (class 6003). Pure mapping.

Follows the reference mapping (policy.md §7, after Anthropic's Compliance API): the tool is the
API operation, its target the resource, the enforced decision the status. ``activity_id`` says
what the tool does: 2 Read (read and web tools), 3 Update (write/edit tools), 4 Delete (a shell
command running a delete program, an MCP tool named delete/remove/…, a retention prune),
99 Other (shell commands and everything else). Fields OCSF has no place for go to ``unmapped``
unchanged, so nothing of the record is lost on the way to a SIEM.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy_server.engine.events import TOOL_GROUPS

from .times import iso_time

OCSF_VERSION = "1.6.0"
CLASS_UID = 6003
CATEGORY_UID = 6
READ, UPDATE, DELETE, OTHER = 2, 3, 4, 99
_ACTIVITY_NAMES = {READ: "Read", UPDATE: "Update", DELETE: "Delete", OTHER: "Other"}
_READ_TOOLS = frozenset(TOOL_GROUPS["@read"] + TOOL_GROUPS["@web"])
_WRITE_TOOLS = frozenset(TOOL_GROUPS["@write"])
DELETE_PROGRAMS = frozenset({"rm", "rmdir", "unlink", "shred", "srm", "wipe", "trash", "trash-put"})
_DELETE_VERBS = ("delete", "remove", "drop", "destroy", "purge")
# "error": the request could not be decided and the harness, given a 4xx, ran the tool anyway.
_SEVERITY = {
    "allow": (1, "Informational"),
    "ask": (2, "Low"),
    "deny": (3, "Medium"),
    "error": (4, "High"),
}
# Record fields that have an OCSF home; everything else is kept under ``unmapped``.
_MAPPED = (
    "event_id",
    "time_us",
    "received_us",
    "user",
    "tool",
    "target",
    "host",
    "session_id",
    "reason",
)


def activity_id(record: Mapping[str, Any]) -> int:
    tool = record.get("tool", "")
    if record.get("hook_event") == "retention.prune":
        return DELETE
    if tool in _READ_TOOLS:
        return READ
    if tool in _WRITE_TOOLS:
        return UPDATE
    if tool == "Bash" and DELETE_PROGRAMS.intersection(record.get("programs", ())):
        return DELETE
    if tool.startswith("mcp__") and tool.rpartition("__")[2].lower().startswith(_DELETE_VERBS):
        return DELETE
    return OTHER


def to_ocsf(
    record: Mapping[str, Any], *, seq: int, prev_hash: str, record_hash: str
) -> dict[str, Any]:
    """The OCSF event for one stored record and its place in the chain."""
    activity = activity_id(record)
    name = _ACTIVITY_NAMES[activity]
    unmapped = dict(record)
    event_id, time_us, received_us, user, tool, target, host, session_id, reason = [
        unmapped.pop(key, "") for key in _MAPPED
    ]
    enforced = record.get("enforced_decision", "")
    severity_id, severity = _SEVERITY.get(enforced, (0, "Unknown"))
    allowed = enforced == "allow"
    harness = record.get("harness", "")
    actor: dict[str, Any] = {
        "user": {"name": user},
        "app_name": harness,
        "session": {"uid": session_id},
    }
    if tool == "Bash":
        actor["process"] = {"cmd_line": target}  # where Splunk's 6003 CIM mapping reads it
    unmapped.update(seq=seq, prev_hash=prev_hash, record_hash=record_hash)
    return {
        "class_uid": CLASS_UID,
        "class_name": "API Activity",
        "category_uid": CATEGORY_UID,
        "category_name": "Application Activity",
        "activity_id": activity,
        "activity_name": name,
        "type_uid": CLASS_UID * 100 + activity,
        "type_name": f"API Activity: {name}",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1 if allowed else 2,
        "status": "Success" if allowed else "Failure",
        "message": reason,
        "time": time_us // 1000,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": event_id,
            "product": {"name": "Reins", "vendor_name": "Reins"},
            "original_time": iso_time(time_us),
            "logged_time": (received_us or time_us) // 1000,
            "correlation_uid": session_id,
        },
        "actor": actor,
        "api": {"operation": tool or record.get("hook_event", ""), "service": {"name": harness}},
        "resources": [{"name": target}] if target else [],
        "src_endpoint": {"hostname": host},
        "unmapped": unmapped,
    }
