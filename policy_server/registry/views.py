"""Text views of registry answers for the terminal: tables of agents and runs, one agent, one run,
and the activity report that answers "what did this agent do yesterday". Pure formatting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any


def when(time_us: int | None) -> str:
    if not time_us:
        return "-"
    return datetime.fromtimestamp(time_us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(header)] + [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def agent_table(agents: list[dict[str, Any]]) -> str:
    if not agents:
        return "no agents yet; create one with `reins agent create --file agent.yaml`"
    rows = [
        (
            a["name"],
            a["harness"],
            a["owner"],
            "yes" if a["enabled"] else "no",
            (a["schedule"] or {}).get("cron", "-"),
            when(a.get("next_run_us")),
            a["source"],
        )
        for a in agents
    ]
    return table(("name", "harness", "owner", "enabled", "cron", "next run", "source"), rows)


def agent_detail(data: dict[str, Any]) -> str:
    spec = data["definition"]
    lines = [
        f"{spec['name']} ({spec['harness']}), owner {spec['owner']}, version {data['version']}, "
        f"from {data['source']}",
    ]
    if spec.get("description"):
        lines.append(spec["description"])
    schedule = spec.get("schedule")
    if schedule:
        lines.append(
            f"schedule: {schedule['cron']} ({schedule.get('timezone', 'UTC')}), next run "
            f"{when(data.get('next_run_us'))}"
        )
    for key in ("tools", "mcp_servers"):
        for kind in ("allow", "deny"):
            values = (spec.get(key) or {}).get(kind)
            if values:
                lines.append(f"{key}.{kind}: {', '.join(values)}")
    if "recent_runs" in data:
        lines += ["", "recent runs:", run_table(data["recent_runs"])]
        usage = data.get("usage_by_model") or []
        if usage:
            lines += ["", "usage by model (7 days):", _usage_table(usage)]
        lines += ["", "recent denials:", _denials(data.get("recent_denials") or [])]
    return "\n".join(lines)


def run_table(runs: list[dict[str, Any]]) -> str:
    if not runs:
        return "no runs"
    rows = [
        (
            r["id"],
            r["agent"],
            r["trigger"],
            when(r["scheduled_us"]),
            when(r["started_us"]),
            when(r["ended_us"]),
            r["status"],
            r["exit_code"],
            _cost(r["cost_usd"]),
            r["denials"],
        )
        for r in runs
    ]
    header = ("run", "agent", "trigger", "scheduled", "started", "ended", "status", "exit", "cost")
    return table((*header, "denials"), rows)


def run_detail(run: dict[str, Any]) -> str:
    summary = run.get("summary") or {}
    lines = [
        f"run {run['id']} of {run['agent']} ({run['trigger']}): {run['status']}",
        f"scheduled {when(run['scheduled_us'])}, started {when(run['started_us'])}, "
        f"ended {when(run['ended_us'])}, exit {run['exit_code']}",
        f"cost {_cost(run['cost_usd'])} ({summary.get('cost_source', '-')}), "
        f"denials {run['denials']}, session {run['session_id'] or '-'}",
    ]
    if run.get("reason"):
        lines.append(f"reason: {run['reason']}")
    if summary.get("result"):
        lines.append(f"result: {summary['result']}")
    if run.get("denial_events"):
        lines += ["denials:", _denials(run["denial_events"])]
    return "\n".join(lines)


def activity_report(data: dict[str, Any]) -> str:
    sessions = data["sessions"]
    lines = [
        f"agent {data['agent']} from {when(data['since_us'])} to {when(data['until_us'])}",
        f"sessions: {len(sessions)}, model calls: {sum(u['calls'] for u in data['model_calls'])}, "
        f"cost: {_cost(data['cost_usd'])}",
    ]
    if sessions:
        rows = [
            (
                s["session_id"] or "-",
                s["harness"],
                s["user"],
                s["run_id"] or "-",
                when(s["first_us"]),
                when(s["last_us"]),
                s["events"],
                s["denials"],
            )
            for s in sessions
        ]
        header = ("session", "harness", "user", "run", "first", "last", "events", "denials")
        lines += ["", "sessions:", table(header, rows)]
    if data["tool_decisions"]:
        rows = [(d["tool"], d["decision"], d["count"]) for d in data["tool_decisions"]]
        lines += ["", "tool decisions:", table(("tool", "decision", "count"), rows)]
    if data["model_calls"]:
        lines += ["", "model calls:", _usage_table(data["model_calls"])]
    if data["runs"]:
        lines += ["", "runs:", run_table(data["runs"])]
    lines += ["", "denials:", _denials(data["denials"])]
    return "\n".join(lines)


def _usage_table(usage: list[dict[str, Any]]) -> str:
    rows = [
        (
            u["model"],
            u["calls"],
            u.get("input_tokens", "-"),
            u.get("output_tokens", "-"),
            _cost(u["cost_usd"]),
        )
        for u in usage
    ]
    return table(("model", "calls", "input tokens", "output tokens", "cost"), rows)


def _denials(denials: list[dict[str, Any]]) -> str:
    if not denials:
        return "none"
    rows = [
        (when(d["time_us"]), d["tool"], d["target"][:60], d["reason"][:100], d["run_id"] or "-")
        for d in denials
    ]
    return table(("time", "tool", "target", "reason", "run"), rows)
