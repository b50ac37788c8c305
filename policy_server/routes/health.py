"""``GET /healthz`` and ``GET /metrics``.

``/healthz`` answers anyone with just ``{"status": ...}`` so load balancers can probe it; the
details (policy revision, policy errors) need a token like every other endpoint.
``/metrics`` needs the auditor role (or admin); Prometheus sends a bearer token.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify, request

from ..app import state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    reins = state()
    reins.policies.check(time.monotonic())
    problems = [str(p) for p in reins.policies.last_error]
    status = "degraded" if problems else "ok"
    body: dict = {"status": status}
    if request.headers.get("Authorization") or request.headers.get("x-api-key"):
        reins.require(request, None)
        body.update(revision=reins.policies.revision, policy_errors=problems)
    return jsonify(body)


@bp.get("/metrics")
def metrics() -> Response:
    reins = state()
    reins.require(request, "auditor")
    gauges = {
        "reins_policy_reload_failures": reins.policies.reload_failures,
        "reins_policy_error": 1 if reins.policies.last_error else 0,
    }
    text = reins.metrics.render(gauges)
    return Response(text, mimetype="text/plain; version=0.0.4")
