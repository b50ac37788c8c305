"""Agent registry and run endpoints: definitions for authors, activity for owners and auditors.

- ``GET /v1/agents``, ``POST /v1/agents`` (author): list, create.
- ``GET /v1/agents/<name>``: definition; for its owner, admins and auditors also recent runs,
  usage and cost by model and recent denials. ``PUT`` replaces it (``If-Match: <version>``
  optional), ``POST …/disable`` and ``…/enable`` switch its schedule.
- ``GET /v1/agents/<name>/runs``, ``POST /v1/agents/<name>/runs`` (queue a run now),
  ``GET /v1/agents/<name>/activity?since=&until=``, ``GET /v1/runs``, ``GET /v1/runs/<id>``.

Nothing here returns a token, a provider key or a server setting.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..app import now_us, state
from ..errors import ApiError
from ..registry import activity, catalog, runs
from ..registry.agent import Agent, AgentError
from ..registry.schedule import next_slot
from ..tokens import Principal, allowed
from .args import int_arg, time_arg
from .hooks import json_body
from .writer import writer

bp = Blueprint("agents", __name__)

RECENT_WINDOW_US = 7 * 86_400_000_000


def _agents() -> list[Agent]:
    reins = state()
    reins.policies.check(time.monotonic())
    return reins.policies.pack.agents


def _agent(name: str) -> Agent:
    agent = catalog.find(_agents(), name)
    if agent is None:
        raise ApiError(404, f"no agent {name!r}; see GET /v1/agents", "unknown_agent")
    return agent


def _reader() -> Principal:
    """Authors, auditors and admins read the registry; developers and run tokens do not."""
    principal = state().require(request, None)
    if not (allowed(principal.roles, "author") or allowed(principal.roles, "auditor")):
        raise ApiError(403, "the agent registry needs the author or auditor role")
    return principal


def _sees_activity(principal: Principal, agent: Agent) -> bool:
    return allowed(principal.roles, "auditor") or catalog.may_manage(
        principal.user, principal.roles, agent
    )


def _visible(principal: Principal, agent: Agent) -> None:
    if not _sees_activity(principal, agent):
        raise ApiError(
            403,
            f"the activity of agent {agent.name} is visible to its owner ({agent.owner}), "
            "admins and auditors",
        )


def _changed(agent: Agent) -> Response:
    state().policies.reload()  # this worker enforces the change at once; others within 1 s
    return jsonify(_describe(agent))


def _describe(agent: Agent) -> dict[str, Any]:
    out = agent.to_dict()
    schedule = agent.schedule
    if schedule and agent.enabled:
        out["next_run_us"] = next_slot(schedule, now_us())
    return out


@bp.get("/v1/agents")
def list_agents() -> Response:
    _reader()
    out = []
    for agent in _agents():
        entry = _describe(agent)
        definition = entry.pop("definition")
        entry.update(
            name=agent.name,
            harness=agent.harness,
            owner=agent.owner,
            enabled=agent.enabled,
            description=definition.get("description", ""),
            schedule=agent.schedule,
        )
        out.append(entry)
    return jsonify({"agents": out})


@bp.post("/v1/agents")
def create_agent() -> Response:
    principal = state().require(request, "author")
    body = json_body()
    try:
        with writer() as conn:
            agent = catalog.create(
                conn,
                body,
                user=principal.user,
                roles=principal.roles,
                file_agents=[a for a in _agents() if a.from_file],
                now_us=now_us(),
            )
    except AgentError as exc:
        raise _invalid(exc) from None
    except catalog.CatalogError as exc:
        raise ApiError(exc.status, str(exc)) from None
    response = _changed(agent)
    response.status_code = 201
    return response


@bp.get("/v1/agents/<name>")
def show_agent(name: str) -> Response:
    principal = _reader()
    agent = _agent(name)
    out = _describe(agent)
    if _sees_activity(principal, agent):
        conn = state().reader
        since, until = now_us() - RECENT_WINDOW_US, now_us() + 1
        out["recent_runs"] = runs.list_runs(conn, agents=[name], limit=10)
        out["usage_by_model"] = activity.model_usage(conn, name, since, until)
        out["recent_denials"] = activity.recent_denials(conn, name, since, until)
        if not agent.from_file:
            out["revisions"] = catalog.revisions(conn, name)
    return jsonify(out)


@bp.put("/v1/agents/<name>")
def replace_agent(name: str) -> Response:
    principal = state().require(request, "author")
    expected = request.headers.get("If-Match", "").strip('"') or None
    if expected is not None and not expected.isdigit():
        raise ApiError(400, "If-Match must be the agent's version number (see GET)")
    body = json_body()
    try:
        with writer() as conn:
            agent = catalog.update(
                conn,
                name,
                body,
                user=principal.user,
                roles=principal.roles,
                now_us=now_us(),
                expected_version=int(expected) if expected else None,
            )
    except AgentError as exc:
        raise _invalid(exc) from None
    except catalog.CatalogError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return _changed(agent)


@bp.post("/v1/agents/<name>/<action>")
def switch_agent(name: str, action: str) -> Response:
    if action not in ("disable", "enable"):
        raise ApiError(404, "no such endpoint; use /disable, /enable or /runs")
    principal = state().require(request, "author")
    try:
        with writer() as conn:
            agent = catalog.set_enabled(
                conn,
                name,
                action == "enable",
                user=principal.user,
                roles=principal.roles,
                now_us=now_us(),
            )
    except catalog.CatalogError as exc:
        raise ApiError(exc.status, str(exc)) from None
    return _changed(agent)


@bp.get("/v1/agents/<name>/runs")
def agent_runs(name: str) -> Response:
    principal = _reader()
    agent = _agent(name)
    _visible(principal, agent)
    limit = _limit()
    return jsonify(
        {"runs": runs.list_runs(state().reader, agents=[name], status=_status(), limit=limit)}
    )


@bp.post("/v1/agents/<name>/runs")
def start_run(name: str) -> Response:
    """Queue a run now; the scheduler starts it (with the usual lease and overlap rules)."""
    principal = state().require(request, "author")
    agent = _agent(name)
    if not catalog.may_manage(principal.user, principal.roles, agent):
        raise ApiError(403, f"agent {name!r} belongs to {agent.owner}; ask them or an admin")
    if not agent.spec.get("prompt"):
        raise ApiError(400, f"agent {name!r} has no prompt to run; add one first")
    with writer() as conn:
        run_id = runs.create(conn, name, trigger="manual", now_us=now_us())
        run = runs.get(conn, run_id)
    return jsonify(run), 202


@bp.get("/v1/agents/<name>/activity")
def agent_activity(name: str) -> Response:
    principal = _reader()
    agent = _agent(name)
    _visible(principal, agent)
    since, until = time_arg("since"), time_arg("until")
    if since is None:
        since = now_us() - 86_400_000_000
    if until is None:
        until = now_us() + 1
    return jsonify(activity.summary(state().reader, name, since, until))


@bp.get("/v1/runs")
def list_all_runs() -> Response:
    principal = _reader()
    visible = None
    if not allowed(principal.roles, "auditor"):
        visible = [a.name for a in _agents() if _sees_activity(principal, a)]
    agent = request.args.get("agent")
    if agent:
        visible = [agent] if visible is None or agent in visible else []
    return jsonify(
        {"runs": runs.list_runs(state().reader, agents=visible, status=_status(), limit=_limit())}
    )


@bp.get("/v1/runs/<run_id>")
def show_run(run_id: str) -> Response:
    principal = _reader()
    run = runs.get(state().reader, run_id)
    agent = catalog.find(_agents(), run["agent"]) if run else None
    if run is None or (agent is None and not allowed(principal.roles, "auditor")):
        raise ApiError(404, f"no run {run_id!r}; see GET /v1/runs")
    if agent is not None:
        _visible(principal, agent)
    run["denial_events"] = activity.recent_denials(
        state().reader, run["agent"], 0, 2**62, 50, run_id=run_id
    )
    return jsonify(run)


def _invalid(exc: AgentError) -> ApiError:
    details = "; ".join(str(p) for p in exc.problems)
    return ApiError(400, f"invalid agent: {details}", "invalid_agent")


def _limit() -> int:
    return int_arg("limit", 50, 500, low=1)


def _status() -> str | None:
    status = request.args.get("status") or None
    if status and status not in runs.STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(runs.STATUSES)}")
    return status
