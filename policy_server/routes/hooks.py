"""``POST /v1/hooks/<harness>``: a harness-native hook payload in, the harness's answer out.

Always 200 for a well-formed, authenticated request: the decision is in the body, because both
harnesses treat a non-2xx answer as "hook failed" and run the tool anyway. The event is durably
in the audit log before the answer leaves; if it cannot be written, the caller gets the
decision its fail mode dictates (closed: deny) and the failure is counted.

``HookEndpoint`` serves this path as a plain WSGI layer in front of Flask: every tool call of
every agent comes through here, and Flask's request context and routing were a quarter of a
request's CPU (py-spy, one worker under load). It answers in the same JSON error shape, with
the same authentication; every other endpoint is an ordinary Flask route. ``json_body`` and
``context_of`` are the Flask routes' helpers for the same parsing and attribution.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, request

from ..app import MAX_BODY_BYTES, ServerState, now_us
from ..audit.records import build_record, rejected_record
from ..audit.writer import AuditWriteError
from ..engine.adapters import PayloadError, to_event
from ..engine.events import HARNESSES
from ..engine.responses import enforced_decision, render
from ..errors import TOO_LARGE, ApiError, error_document

PREFIX = "/v1/hooks/"

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
    """Who and what a Flask route's event is attributed to (see ``context_from``)."""
    return context_from(request.headers, request.remote_addr or "", principal)


def context_from(headers: Mapping[str, str], remote_addr: str, principal: Any) -> dict[str, Any]:
    """Who and what the event is attributed to: the token, never the payload."""
    return {
        "agent": headers.get("X-Reins-Agent", "") or "interactive",
        "run_id": headers.get("X-Reins-Run", ""),
        "host": headers.get("X-Reins-Host", "") or remote_addr,
        "harness_version": headers.get("X-Reins-Harness-Version", ""),
        "home": headers.get("X-Reins-Home", ""),
        "user": principal.user,
        "roles": list(principal.roles),
    }


# The only headers a hook request reads (authentication, attribution), by their WSGI keys:
# looked up directly, because werkzeug's ``EnvironHeaders`` walked and re-spelled every environ
# key for ``parse_authorization`` (~5% of a hook request's CPU). Names as that function and
# ``context_from`` ask for them.
_HOOK_HEADERS = {
    "HTTP_AUTHORIZATION": "Authorization",
    "HTTP_X_API_KEY": "x-api-key",
    "HTTP_X_REINS_AGENT": "X-Reins-Agent",
    "HTTP_X_REINS_RUN": "X-Reins-Run",
    "HTTP_X_REINS_HOST": "X-Reins-Host",
    "HTTP_X_REINS_HARNESS_VERSION": "X-Reins-Harness-Version",
    "HTTP_X_REINS_HOME": "X-Reins-Home",
}
_RENDER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps(**options) is not


def hook_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The headers a hook request reads, from the WSGI environ."""
    return {name: environ[key] for key, name in _HOOK_HEADERS.items() if key in environ}


def new_ids() -> tuple[str, str]:
    """A fresh (event id, decision id): 128 random bits each, 32 hex digits like the
    ``uuid4().hex`` they replace, from one read of the OS's random source instead of two plus
    the ``UUID`` objects (every hook request pays for this)."""
    ids = os.urandom(32).hex()
    return ids[:32], ids[32:]


StartResponse = Callable[..., Any]
_REASONS = {
    200: "OK",
    400: "BAD REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT FOUND",
    405: "METHOD NOT ALLOWED",
    413: "REQUEST ENTITY TOO LARGE",
    500: "INTERNAL SERVER ERROR",
}


class HookEndpoint:
    """WSGI: answers ``/v1/hooks/*`` itself and hands every other path to ``flask_wsgi``."""

    def __init__(self, app: Flask, flask_wsgi: Callable[..., Iterable[bytes]]) -> None:
        self.reins: ServerState = app.extensions["reins"]
        self.logger = app.logger
        self.flask_wsgi = flask_wsgi
        self._agents: tuple[Any, dict[str, Any]] = (None, {})

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return self.flask_wsgi(environ, start_response)
        started = time.perf_counter()
        extra: list[tuple[str, str]] = []
        try:
            if environ.get("REQUEST_METHOD") != "POST":
                extra.append(("Allow", "POST"))
                raise ApiError(405, "method not allowed here; allowed: POST")
            status, body = 200, self.decide(path[len(PREFIX) :], environ)
        except ApiError as exc:
            status, body = exc.status, error_document(exc.status, exc.message, exc.code)
            if status == 401:
                extra.append(("WWW-Authenticate", 'Bearer realm="reins"'))
        except Exception:  # isolation boundary, as Flask's: log, never leak internals
            self.logger.exception("unhandled error in a hook request")
            status = 500
            body = error_document(500, "internal error; the server log has the details")
        if status != 200:
            self.reins.metrics.inc("reins_http_errors_total", f'status="{status}"')
        payload = _RENDER.encode(body).encode() + b"\n"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(f"{status} {_REASONS.get(status, 'ERROR')}", headers + extra)
        if status == 200:
            self.reins.metrics.observe("reins_decision_seconds", time.perf_counter() - started)
        return [payload]

    def decide(self, harness: str, environ: dict[str, Any]) -> dict[str, Any]:
        """The harness's answer to one hook request, audited; ``ApiError`` for a bad request."""
        reins = self.reins
        if harness not in HARNESSES:
            raise ApiError(404, f"unknown harness {harness!r}; use one of {', '.join(HARNESSES)}")
        headers = hook_headers(environ)
        principal = reins.authenticate(headers, "developer")
        context = context_from(headers, environ.get("REMOTE_ADDR") or "", principal)
        event = self.decidable_event(harness, context, environ)
        reins.policies.check(time.monotonic())
        received = now_us()
        t0 = time.perf_counter_ns()
        decision = reins.policies.pack.policies.evaluate(event)
        eval_us = (time.perf_counter_ns() - t0) // 1000
        verdict, reason = decision.decision, decision.reason
        event_id, decision_id = new_ids()
        record = build_record(
            event,
            decision,
            enforced=enforced_decision(harness, event.event, verdict),
            event_id=event_id,
            decision_id=decision_id,
            time_us=received,
            received_us=received,
            eval_us=eval_us,
        )
        if not self.audit(record) and self.fails_closed(context):
            verdict, reason = "deny", AUDIT_FAILED_REASON
        reins.metrics.inc("reins_decisions_total", f'decision="{verdict}",harness="{harness}"')
        explicit = decision.explicit_allow and verdict == "allow"
        memory = self.memory_of(event.agent) if event.event == "SessionStart" else ""
        return render(harness, event.event, verdict, reason, explicit, memory)

    def memory_of(self, agent: str) -> str:
        """The agent's ``memory`` notes, given to the model as context at SessionStart."""
        pack = self.reins.policies.pack
        if self._agents[0] is not pack:  # rebuilt once per policy reload, not per request
            self._agents = (pack, {a.name: a for a in pack.agents})
        found = self._agents[1].get(agent)
        return found.memory if found is not None and found.enabled else ""

    def decidable_event(
        self, harness: str, context: dict[str, Any], environ: dict[str, Any]
    ) -> Any:
        """The request's event, or an ``ApiError`` — after an audit row saying what was rejected:
        "every hook event produces exactly one audit row", including the ones we cannot decide."""
        payload: Any = None
        try:
            payload = raw = read_body(environ)
            payload = parse_object(raw)
            return to_event(payload, harness, context)
        except (ApiError, PayloadError) as exc:
            error = exc if isinstance(exc, ApiError) else ApiError(400, str(exc))
            if isinstance(payload, bytes):
                payload = payload[:MAX_RAW_CHARS].decode("utf-8", "replace") or None
            event_id, decision_id = new_ids()
            record = rejected_record(
                harness,
                context,
                payload,
                f"{error.status}: {error.message}",
                event_id=event_id,
                decision_id=decision_id,
                time_us=now_us(),
            )
            self.audit(record)
            self.reins.metrics.inc("reins_hook_requests_rejected_total", f'harness="{harness}"')
            raise error from None

    def audit(self, record: dict[str, Any]) -> bool:
        """Commit ``record`` durably; False (counted, logged) when the store refused it."""
        try:
            self.reins.committer.submit(record)
        except AuditWriteError as exc:
            self.reins.metrics.inc("reins_audit_write_failures_total")
            self.logger.error("audit write failed for a %s event: %s", record["hook_event"], exc)
            return False
        self.reins.metrics.inc("reins_audit_rows_written_total")
        return True

    def fails_closed(self, context: dict[str, Any]) -> bool:
        """Fail mode when the audit write fails: configured, else closed for scheduled runs."""
        mode = self.reins.settings.get("fail_mode") or "auto"
        closed = bool(context["run_id"]) if mode == "auto" else mode == "closed"
        self.logger.error(
            "audit write failed: %s fail mode applied", "closed" if closed else "open"
        )
        return closed


def read_body(environ: dict[str, Any]) -> bytes:
    """The request body, at most ``MAX_BODY_BYTES``; 400 for a bad length, 413 past the limit."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if not length:  # chunked: the server decodes it; read one byte past the limit to tell
        body = _read(stream, MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, TOO_LARGE)
        return body
    try:
        size = int(length)
    except ValueError:
        raise ApiError(400, f"bad Content-Length {length!r}") from None
    if size > MAX_BODY_BYTES:
        raise ApiError(413, TOO_LARGE)
    return _read(stream, size) if size > 0 else b""


def _read(stream: Any, size: int) -> bytes:
    try:
        return stream.read(size)
    except (OSError, ValueError) as exc:  # the server could not frame the body (a bad chunk)
        raise ApiError(400, f"the request body could not be read: {exc}") from None
