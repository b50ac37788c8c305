"""The policy server's Flask app factory: ``create_app(settings)`` and its per-app state.

No import-time side effects: everything (store connection, policies, audit committer, token
cache, metrics) is created in ``create_app`` and hangs off ``app.extensions["reins"]``, so tests
build a fresh app per test on a temporary SQLite file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Request, current_app

from . import errors, store
from .audit.writer import GroupCommitter
from .live_policies import LivePolicies
from .loader import BUNDLED_POLICIES
from .metrics import Metrics
from .tokens import Principal, TokenCache, allowed, parse_authorization

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class ServerState:
    settings: dict[str, Any]
    db_path: Path
    policies: LivePolicies
    committer: GroupCommitter
    tokens: TokenCache
    metrics: Metrics
    reader: Any = field(default=None)  # read-only connection for audit queries

    def require(self, request: Request, need: str | None) -> Principal:
        """The caller's identity, or 401 (no or bad token) / 403 (token lacks the role).

        ``need=None`` accepts any valid token."""
        return self.authenticate(request.headers, need)

    def authenticate(self, headers: Mapping[str, str], need: str | None) -> Principal:
        """``require`` for a request's headers (the hook endpoint has no Flask request)."""
        presented = parse_authorization(headers)
        if not presented:
            raise errors.ApiError(
                401,
                "missing token: send Authorization: Bearer <token> (create one with `reins token create`)",
            )
        principal = self.tokens.authenticate(presented, now_us())
        if principal is None:
            raise errors.ApiError(401, "invalid, expired or revoked token")
        if need is not None and not allowed(principal.roles, need):
            raise errors.ApiError(
                403,
                f"this endpoint needs the {need} role; token of {principal.user} has {', '.join(principal.roles)}",
            )
        if principal.agent:
            _check_run_scope(headers, principal)
        return principal


def _check_run_scope(headers: Mapping[str, str], principal: Principal) -> None:
    """A scheduled run's token acts only as its own agent and run: the headers must say so."""
    agent = headers.get("X-Reins-Agent", "")
    run_id = headers.get("X-Reins-Run", "")
    if agent != principal.agent or run_id != principal.run_id:
        raise errors.ApiError(
            403,
            f"this token belongs to run {principal.run_id} of agent {principal.agent}; send "
            "X-Reins-Agent and X-Reins-Run with those values (it cannot act for anything else)",
        )


def now_us() -> int:
    return time.time_ns() // 1000


def state() -> ServerState:
    return current_app.extensions["reins"]


def create_app(settings: dict[str, Any]) -> Flask:
    """Build the app. ``settings`` is ``config.load(...)`` output (db, policies, ...)."""
    from .registry.source import AgentSource
    from .routes import agents, audit, health, hooks, install, policies, usage

    app = Flask("reins.policy_server")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # keep the harness JSON in the order we build it
    db_path = Path(settings["db"])
    conn = store.connect(db_path)
    metrics_dir = settings.get("metrics_dir")
    reins = ServerState(
        settings=settings,
        db_path=db_path,
        policies=LivePolicies(
            Path(settings.get("policies") or BUNDLED_POLICIES),
            agent_source=AgentSource(lambda: store.connect(db_path)),
        ),
        committer=GroupCommitter(conn),
        tokens=TokenCache(lambda: store.connect(db_path)),
        metrics=Metrics(Path(metrics_dir) if metrics_dir else None),
        reader=store.connect(db_path),
    )
    app.extensions["reins"] = reins
    errors.install(app)
    for blueprint in (policies.bp, audit.bp, health.bp, agents.bp, install.bp, usage.bp):
        app.register_blueprint(blueprint)
    app.wsgi_app = hooks.HookEndpoint(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
