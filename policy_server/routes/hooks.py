"""``POST /v1/hooks/<harness>``: a harness-native hook payload in, the harness's answer out.

Always 200 for a well-formed, authenticated request: the decision is in the body, because both
harnesses treat a non-2xx answer as "hook failed" and run the tool anyway. The event is durably
in the audit log before the answer leaves; if it cannot be written, the caller gets the
decision its fail mode dictates (closed: deny) and the failure is counted.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..app import now_us, state
from ..audit.records import build_record, rejected_record
from ..audit.writer import AuditWriteError
from ..engine.adapters import PayloadError, to_event
from ..engine.events import HARNESSES
from ..engine.responses import enforced_decision, render
from ..errors import TOO_LARGE, ApiError

bp = Blueprint("hooks", __name__)

MAX_RAW_CHARS = 64 * 1024  # of a body that is not JSON, kept (redacted, bounded) in its audit row

AUDIT_FAILED_REASON = (
    "Reins could not record this action in its audit log, and this agent fails closed. "
    "Retry shortly; if it persists, ask an admin to check the Reins server's disk and logs."
)


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    return parse_object(request.get_data(cache=False))  # any content type: clients vary


def parse_object(raw: bytes) -> dict[str, Any]:
    """``raw`` as a JSON object, or an ``ApiError(400)`` saying what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "empty body: send the hook payload as a JSON object")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(
            400, "body is not valid JSON: send the harness's hook payload unchanged"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, f"body must be a JSON object, got {type(data).__name__}")
    return data


def context_of(principal: Any) -> dict[str, Any]:
    """Who and what the event is attributed to: the token, never the payload."""
    headers = request.headers
    return {
        "agent": headers.get("X-Reins-Agent", "") or "interactive",
        "run_id": headers.get("X-Reins-Run", ""),
        "host": headers.get("X-Reins-Host", "") or (request.remote_addr or ""),
        "harness_version": headers.get("X-Reins-Harness-Version", ""),
        "home": headers.get("X-Reins-Home", ""),
        "user": principal.user,
        "roles": list(principal.roles),
    }


def fails_closed(context: dict[str, Any]) -> bool:
    """Fail mode when the audit write fails: configured, else closed for scheduled runs."""
    mode = state().settings.get("fail_mode") or "auto"
    if mode == "auto":
        return bool(context["run_id"])
    return mode == "closed"


def decidable_event(harness: str, context: dict[str, Any]) -> Any:
    """The request's event, or an error answer — after an audit row saying what was rejected:
    "every hook event produces exactly one audit row", including the ones we cannot decide."""
    payload: Any = None
    try:
        raw = request.get_data(cache=False)
        payload = raw
        payload = parse_object(raw)
        return to_event(payload, harness, context)
    except (ApiError, PayloadError, RequestEntityTooLarge) as exc:
        if isinstance(exc, RequestEntityTooLarge):
            error = ApiError(413, TOO_LARGE)
        else:
            error = exc if isinstance(exc, ApiError) else ApiError(400, str(exc))
        if isinstance(payload, bytes):
            payload = payload[:MAX_RAW_CHARS].decode("utf-8", "replace") or None
        record_rejection(harness, context, payload, f"{error.status}: {error.message}")
        raise error from None


def record_rejection(harness: str, context: dict[str, Any], payload: Any, message: str) -> None:
    reins = state()
    record = rejected_record(
        harness,
        context,
        payload,
        message,
        event_id=uuid.uuid4().hex,
        decision_id=uuid.uuid4().hex,
        time_us=now_us(),
    )
    try:
        reins.committer.submit(record)
        reins.metrics.inc("reins_audit_rows_written_total")
    except AuditWriteError as exc:
        reins.metrics.inc("reins_audit_write_failures_total")
        current_app.logger.error("audit write failed for a rejected hook request: %s", exc)
    reins.metrics.inc("reins_hook_requests_rejected_total", f'harness="{harness}"')


@bp.post("/v1/hooks/<harness>")
def hook(harness: str) -> Response:
    started = time.perf_counter()
    reins = state()
    if harness not in HARNESSES:
        raise ApiError(404, f"unknown harness {harness!r}; use one of {', '.join(HARNESSES)}")
    principal = reins.require(request, "developer")
    context = context_of(principal)
    event = decidable_event(harness, context)
    reins.policies.check(time.monotonic())
    received = now_us()
    t0 = time.perf_counter_ns()
    decision = reins.policies.pack.policies.evaluate(event)
    eval_us = (time.perf_counter_ns() - t0) // 1000
    verdict, reason = decision.decision, decision.reason
    record = build_record(
        event,
        decision,
        enforced=enforced_decision(harness, event.event, verdict),
        event_id=uuid.uuid4().hex,
        decision_id=uuid.uuid4().hex,
        time_us=received,
        received_us=received,
        eval_us=eval_us,
    )
    try:
        reins.committer.submit(record)
        reins.metrics.inc("reins_audit_rows_written_total")
    except AuditWriteError as exc:
        reins.metrics.inc("reins_audit_write_failures_total")
        closed = fails_closed(context)
        current_app.logger.error(
            "audit write failed (%s fail mode applied): %s", "closed" if closed else "open", exc
        )
        if closed:
            verdict, reason = "deny", AUDIT_FAILED_REASON
    answer = render(
        harness, event.event, verdict, reason, decision.explicit_allow and verdict == "allow"
    )
    reins.metrics.inc("reins_decisions_total", f'decision="{verdict}",harness="{harness}"')
    reins.metrics.observe(time.perf_counter() - started)
    return jsonify(answer)
