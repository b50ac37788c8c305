"""Audit endpoints: list with filters and cursor, streamed export, one session, offline uploads."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, jsonify, request

from .. import store
from ..app import now_us, state
from ..audit.export import export
from ..audit.records import build_record
from ..audit.writer import AuditWriteError
from ..engine.adapters import PayloadError, to_event
from ..engine.evaluator import Decision
from ..engine.responses import enforced_decision
from ..errors import ApiError
from ..usage_report import model_calls
from .args import int_arg, time_arg
from .hooks import context_of, json_body

bp = Blueprint("audit", __name__)

MAX_PAGE = 500
MAX_BATCH = 1000
# Context a spooled event carries from the hook client (its headers when it was decided offline).
_CONTEXT_FIELDS = ("agent", "run_id", "host", "harness_version", "home")
_FILTERS = {
    "agent": "agent",
    "decision": "decision",
    "harness": "harness",
    "session": "session_id",
    "user": "user",
    "tool": "tool",
    "run": "run_id",
}


def _row(row: Any) -> dict[str, Any]:
    record = json.loads(row[1])
    record.update(seq=row[0], prev_hash=row[2], record_hash=row[3])
    return record


@bp.get("/v1/audit")
def list_events() -> Response:
    """Newest first is not what auditors page through: rows come in seq order after ``cursor``."""
    reins = state()
    reins.require(request, "auditor")
    where, params = ["seq > ?"], [int_arg("cursor", 0, 2**62)]
    for arg, column in _FILTERS.items():
        if request.args.get(arg):
            where.append(f"{column} = ?")
            params.append(request.args[arg])
    for arg, op in (("since", ">="), ("until", "<")):
        value = time_arg(arg)
        if value is not None:
            where.append(f"time_us {op} ?")
            params.append(value)
    limit = int_arg("limit", 100, MAX_PAGE) or 100
    sql = f"SELECT seq, record, prev_hash, record_hash FROM audit_events WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
    rows = reins.reader.execute(sql, [*params, limit]).fetchall()
    events = [_row(r) for r in rows]
    return jsonify(
        {"events": events, "next_cursor": events[-1]["seq"] if len(events) == limit else None}
    )


@bp.get("/v1/sessions/<session_id>")
def session(session_id: str) -> Response:
    reins = state()
    reins.require(request, "auditor")
    rows = reins.reader.execute(
        "SELECT seq, record, prev_hash, record_hash FROM audit_events WHERE session_id = ? ORDER BY seq LIMIT 10000",
        (session_id,),
    ).fetchall()
    events = [_row(r) for r in rows]
    calls = model_calls(reins.reader, session_id)
    # One time line: tool decisions and model calls interleaved (a decision first on a tie).
    timeline = sorted(
        [{"kind": "decision", **e} for e in events] + calls,
        key=lambda item: (item["time_us"], item["kind"] != "decision"),
    )
    return jsonify(
        {
            "session_id": session_id,
            "events": events,
            "model_calls": calls,
            "models": _call_totals(calls),
            "timeline": timeline,
        }
    )


def _call_totals(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """Calls per provider and the session's cost ("Claude on 25 calls, Gemini on 15, $0.23")."""
    per_provider: dict[str, int] = {}
    for call in calls:
        name = call["provider"] or "none"
        per_provider[name] = per_provider.get(name, 0) + 1
    costs = [c["cost_usd"] for c in calls if c["cost_usd"] is not None]
    return {
        "calls": len(calls),
        "calls_by_provider": per_provider,
        "cost_usd": round(sum(costs), 10) if costs else None,
        "unpriced_calls": sum(1 for c in calls if c["cost_usd"] is None and c["tokens"]),
        "fallbacks": sum(1 for c in calls if c["fallbacks"]),
    }


class _ChunkPipe:
    """A file-like ``write`` that hands chunks to a consumer: lets ``export`` stream over HTTP."""

    def __init__(self) -> None:
        self.chunks: queue.Queue = queue.Queue(maxsize=64)
        self.buffer: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.buffer.append(text)
        self.size += len(text)
        if self.size >= 64 * 1024:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.buffer:
            self.chunks.put("".join(self.buffer))
            self.buffer, self.size = [], 0


@bp.get("/v1/audit/export")
def export_events() -> Response:
    reins = state()
    reins.require(request, "auditor")
    fmt = request.args.get("format", "jsonl")
    if fmt not in ("jsonl", "csv", "ocsf"):
        raise ApiError(400, "format must be one of jsonl, csv, ocsf")
    filters = {
        "since_us": time_arg("since"),
        "until_us": time_arg("until"),
        "agent": request.args.get("agent") or None,
        "decision": request.args.get("decision") or None,
    }
    pipe = _ChunkPipe()
    done = object()

    def produce() -> None:
        conn = store.connect(reins.db_path)  # its own connection: the cursor lives across yields
        try:
            export(conn, fmt, pipe, **filters)
            pipe.flush()
        finally:
            conn.close()
            pipe.chunks.put(done)

    threading.Thread(target=produce, daemon=True).start()

    def stream() -> Iterator[str]:
        while (chunk := pipe.chunks.get()) is not done:
            yield chunk

    mimetype = {"jsonl": "application/x-ndjson", "csv": "text/csv", "ocsf": "application/x-ndjson"}[
        fmt
    ]
    return Response(stream(), mimetype=mimetype)


@bp.post("/v1/audit/batch")
def upload_batch() -> Response:
    """Events a hook client decided offline (server unreachable), uploaded later.

    Idempotent by event id: a retried upload records nothing twice. The client's decision is
    recorded as what was enforced, marked degraded; the server does not re-decide the past.
    """
    reins = state()
    principal = reins.require(request, "developer")
    body = json_body()
    items = body.get("events")
    if not isinstance(items, list) or not items:
        raise ApiError(400, 'body must be {"events": [...]} with at least one event')
    if len(items) > MAX_BATCH:
        raise ApiError(400, f"at most {MAX_BATCH} events per batch; split the upload")
    records = [_offline_record(item, i, principal) for i, item in enumerate(items)]
    try:
        seqs = reins.committer.submit_many(records)
    except AuditWriteError as exc:
        reins.metrics.inc("reins_audit_write_failures_total")
        raise ApiError(503, f"audit log unavailable, keep the spool and retry: {exc}") from None
    reins.metrics.inc("reins_audit_spooled_uploads_total", value=len(records))
    # A re-sent event keeps the seq it was first stored under: the client may drop its spool.
    return jsonify({"stored": len(seqs), "seqs": seqs})


def _offline_record(item: Any, index: int, principal: Any) -> dict[str, Any]:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise ApiError(400, f"{where} must be an object")
    for field in ("event_id", "harness", "payload", "decision"):
        if field not in item:
            raise ApiError(400, f"{where}: missing field {field!r}")
    verdict = item["decision"]
    if verdict not in ("allow", "deny", "ask"):
        raise ApiError(400, f"{where}.decision must be allow, deny or ask")
    context = context_of(principal) | {k: str(item[k]) for k in _CONTEXT_FIELDS if item.get(k)}
    try:
        event = to_event(item["payload"], item["harness"], context)
    except PayloadError as exc:
        raise ApiError(400, f"{where}.payload: {exc}") from None
    decided = Decision(verdict, str(item.get("reason", "")), revision=str(item.get("revision", "")))
    when = item.get("time_us") if isinstance(item.get("time_us"), int) else now_us()
    record = build_record(
        event,
        decided,
        enforced=enforced_decision(event.harness, event.event, verdict),
        event_id=str(item["event_id"]),
        decision_id=str(item.get("decision_id") or item["event_id"]),
        time_us=when,
        received_us=now_us(),
        eval_us=int(item.get("eval_us") or 0),
        degraded=True,
    )
    record["rules"] = [str(r) for r in item.get("rules", []) if isinstance(r, str)]
    return record
