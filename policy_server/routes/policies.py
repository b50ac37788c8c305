"""Policy endpoints: ``POST /v1/evaluate``, ``GET /v1/bundle``, ``POST /v1/policies/reload``."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..app import state
from ..engine.adapters import PayloadError, to_event
from ..engine.responses import enforced_decision
from ..errors import ApiError
from .hooks import context_of, json_body

bp = Blueprint("policies", __name__)

BUNDLE_FORMAT = "reins-bundle/1"


@bp.post("/v1/evaluate")
def evaluate() -> Response:
    """A normalised event (Claude Code tool vocabulary) in, the full decision out. Not audited:
    this is a dry run for tools and policy authors, not a hook event."""
    reins = state()
    principal = reins.require(request, "developer")
    body = json_body()
    if "event" not in body:
        raise ApiError(400, "missing field 'event' (e.g. PreToolUse)")
    payload = {
        "hook_event_name": body["event"],
        "tool_name": body.get("tool", ""),
        "tool_input": body.get("tool_input", {}),
        "cwd": body.get("cwd", ""),
        "prompt": body.get("prompt"),
        "session_id": body.get("session_id", ""),
    }
    harness = body.get("harness", "claude-code")
    try:
        event = to_event(payload, harness, context_of(principal) | {"home": body.get("home", "")})
    except PayloadError as exc:
        raise ApiError(400, str(exc)) from None
    reins.policies.check(time.monotonic())
    decision = reins.policies.pack.policies.evaluate(event)
    out = decision.to_dict()
    out["enforced_decision"] = enforced_decision(event.harness, event.event, decision.decision)
    return jsonify(out)


def bundle_document() -> dict[str, Any]:
    """The compiled pack as plain data the hook client compiles with the same engine."""
    pack = state().policies.pack
    rules = [
        dict(rule.spec, policy=rule.policy, source=rule.source) for rule in pack.policies.rules
    ]
    return {
        "format": BUNDLE_FORMAT,
        "revision": pack.policies.revision,
        "default_decision": pack.policies.default_decision,
        "rules": rules,
    }


@bp.get("/v1/bundle")
def bundle() -> Response:
    reins = state()
    reins.require(request, "developer")
    reins.policies.check(time.monotonic())
    etag = reins.policies.revision
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = jsonify(bundle_document())
    response.set_etag(etag)
    return response


@bp.post("/v1/policies/reload")
def reload() -> Response:
    reins = state()
    reins.require(request, "admin")
    result = reins.policies.reload()
    return jsonify(
        {
            "ok": result.ok,
            "revision": result.revision,
            "changed": result.changed,
            "problems": [str(p) for p in result.problems],
        }
    )
