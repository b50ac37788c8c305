"""Policy endpoints: ``POST /v1/evaluate``, ``GET /v1/bundle``, ``POST /v1/policies/reload``."""

from __future__ import annotations

import hashlib
import json
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


def bundle_document(principal: Any, etag: str) -> dict[str, Any]:
    """The compiled pack as plain data the hook client compiles with the same engine.

    ``principal`` is the caller's user and roles, which the server takes from the token: the
    hook needs them offline for rules scoped by ``users``/``roles`` to decide as they do here.
    ``etag`` is repeated in the document so the client can store the bundle as one file.
    """
    pack = state().policies.pack
    rules = [
        dict(rule.spec, policy=rule.policy, source=rule.source) for rule in pack.policies.rules
    ]
    return {
        "format": BUNDLE_FORMAT,
        "revision": pack.policies.revision,
        "etag": etag,
        "default_decision": pack.policies.default_decision,
        "principal": {"user": principal.user, "roles": list(principal.roles)},
        "rules": rules,
    }


def bundle_etag(revision: str, principal: Any) -> str:
    """Revision plus who asked: a change of the caller's roles must not be answered 304."""
    who = json.dumps([principal.user, sorted(principal.roles)]).encode()
    return f"{revision}.{hashlib.sha256(who).hexdigest()[:12]}"


@bp.get("/v1/bundle")
def bundle() -> Response:
    reins = state()
    principal = reins.require(request, "developer")
    reins.policies.check(time.monotonic())
    etag = bundle_etag(reins.policies.revision, principal)
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = jsonify(bundle_document(principal, etag))
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
