"""``reins agent create|edit|list|show|enable|disable|run|activity`` and ``reins runs list|show``.

A thin shell over the registry API (``routes/agents.py``) through :class:`ApiClient`: parse,
call, format (``views.py``). Every error is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# No yaml here: every ``reins`` command imports this module to build its parser.
from ..cli import _fail
from . import views
from .client import ApiClient, ClientError


def _client_flags(parser: argparse.ArgumentParser, json_output: bool = True) -> None:
    parser.add_argument(
        "--server", help="policy server URL (env REINS_SERVER, default http://127.0.0.1:8700)"
    )
    parser.add_argument(
        "--token-file", dest="token_file", help="file holding your token (default: env REINS_TOKEN)"
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def register(subparsers: Any) -> None:
    agent = subparsers.add_parser(
        "agent",
        help="define agents, their tools and schedules; see what they did",
        description="The agent registry (needs a token with the author role; activity: owner, "
        "admin or auditor).",
    )
    verbs = agent.add_subparsers(dest="agent_verb", metavar="VERB")
    verbs.required = True
    _verb(verbs, "list", "list agents", cmd_list)
    show = _verb(verbs, "show", "show one agent: definition, runs, usage, denials", cmd_show)
    show.add_argument("name")
    create = _verb(verbs, "create", "create an agent from a YAML or JSON file", cmd_create)
    create.add_argument("--file", "-f", required=True, help="definition file, - for stdin")
    edit = _verb(verbs, "edit", "change an agent (whole file, or --set field=value)", cmd_edit)
    edit.add_argument("name")
    edit.add_argument("--file", "-f", help="new definition file, - for stdin")
    edit.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="change one field, e.g. schedule.cron='0 3 * * *' or tools.allow='[Read, Grep]' "
        "(VALUE is YAML; repeatable)",
    )
    for name, text in (("disable", "stop scheduled runs"), ("enable", "resume scheduled runs")):
        switch = _verb(verbs, name, text, cmd_switch)
        switch.add_argument("name")
    run = _verb(verbs, "run", "queue a run now (the scheduler starts it)", cmd_run)
    run.add_argument("name")
    act = _verb(
        verbs, "activity", "what an agent did: sessions, tools, model calls, cost", cmd_activity
    )
    act.add_argument("name")
    act.add_argument(
        "--since", default="1d", help="today, yesterday, 7d or an ISO time (default 1d)"
    )
    act.add_argument("--until", help="end of the window (default: now)")

    runs_parser = subparsers.add_parser(
        "runs", help="list and show agent runs", description="Scheduled and manual agent runs."
    )
    run_verbs = runs_parser.add_subparsers(dest="runs_verb", metavar="VERB")
    run_verbs.required = True
    listing = _verb(run_verbs, "list", "list runs, newest first", cmd_runs_list)
    listing.add_argument("--agent", help="only this agent's runs")
    listing.add_argument("--status", help="queued, running, succeeded, failed, timed_out, …")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    one = _verb(run_verbs, "show", "one run: times, status, summary, cost, denials", cmd_runs_show)
    one.add_argument("run_id")


def _verb(verbs: Any, name: str, text: str, func: Any) -> argparse.ArgumentParser:
    parser = verbs.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
    _client_flags(parser)
    parser.set_defaults(func=func)
    return parser


def _call(args: argparse.Namespace, method: str, path: str, **kwargs: Any) -> Any:
    return ApiClient(args.server, args.token_file).call(method, path, **kwargs)


def _print(args: argparse.Namespace, data: Any, text: str) -> int:
    print(json.dumps(data, indent=2) if args.json else text)
    return 0


def _guarded(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except ClientError as exc:
            return _fail(str(exc))

    run.__doc__ = func.__doc__
    return run


@_guarded
def cmd_list(args: argparse.Namespace) -> int:
    data = _call(args, "GET", "/v1/agents")
    return _print(args, data, views.agent_table(data["agents"]))


@_guarded
def cmd_show(args: argparse.Namespace) -> int:
    data = _call(args, "GET", f"/v1/agents/{args.name}")
    return _print(args, data, views.agent_detail(data))


@_guarded
def cmd_create(args: argparse.Namespace) -> int:
    data = _call(args, "POST", "/v1/agents", json=_read_definition(args.file))
    return _print(
        args, data, f"created agent {data['definition']['name']} (version {data['version']})"
    )


@_guarded
def cmd_edit(args: argparse.Namespace) -> int:
    if not args.file and not args.set:
        raise ClientError("nothing to change: pass --file FILE or --set FIELD=VALUE")
    current = _call(args, "GET", f"/v1/agents/{args.name}")
    if not current.get("editable"):
        raise ClientError(
            f"agent {args.name} is defined in {current['source']}; change it by pull request"
        )
    spec = _read_definition(args.file) if args.file else dict(current["definition"])
    for assignment in args.set:
        _assign(spec, assignment)
    data = _call(
        args,
        "PUT",
        f"/v1/agents/{args.name}",
        json=spec,
        headers={"If-Match": str(current["version"])},
    )
    return _print(args, data, f"updated agent {args.name} (version {data['version']})")


@_guarded
def cmd_switch(args: argparse.Namespace) -> int:
    data = _call(args, "POST", f"/v1/agents/{args.name}/{args.agent_verb}")
    return _print(args, data, f"agent {args.name} {args.agent_verb}d (version {data['version']})")


@_guarded
def cmd_run(args: argparse.Namespace) -> int:
    data = _call(args, "POST", f"/v1/agents/{args.name}/runs")
    return _print(
        args, data, f"queued run {data['id']} of {args.name}; see `reins runs show {data['id']}`"
    )


@_guarded
def cmd_activity(args: argparse.Namespace) -> int:
    params = {"since": args.since, **({"until": args.until} if args.until else {})}
    data = _call(args, "GET", f"/v1/agents/{args.name}/activity", params=params)
    return _print(args, data, views.activity_report(data))


@_guarded
def cmd_runs_list(args: argparse.Namespace) -> int:
    params = {k: v for k, v in (("agent", args.agent), ("status", args.status)) if v}
    data = _call(args, "GET", "/v1/runs", params={**params, "limit": args.limit})
    return _print(args, data, views.run_table(data["runs"]))


@_guarded
def cmd_runs_show(args: argparse.Namespace) -> int:
    data = _call(args, "GET", f"/v1/runs/{args.run_id}")
    return _print(args, data, views.run_detail(data))


def _read_definition(source: str) -> dict[str, Any]:
    import yaml

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ClientError(f"cannot read {source}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClientError(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ClientError(f"{source} must hold one agent definition (a mapping of fields)")
    return data


def _assign(spec: dict[str, Any], assignment: str) -> None:
    import yaml

    path, sep, raw = assignment.partition("=")
    if not sep or not path.strip():
        raise ClientError(f"--set takes FIELD=VALUE, got {assignment!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    keys = path.strip().split(".")
    target = spec
    for key in keys[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise ClientError(f"--set {path}: {key} is not a mapping")
    if value is None:
        target.pop(keys[-1], None)
    else:
        target[keys[-1]] = value
