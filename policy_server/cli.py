"""``reins policy lint|test|eval|explain``: the verbs a policy pull request uses.

Thin shell: parse arguments, call the loader/engine, format. Every user error ends as one
clear message on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Nothing heavy at the top (not even ``config``, which loads YAML): every ``reins`` command
# imports this module to build its parser. Handlers import what they use.
from .flags import add_config, add_db, add_policies

MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
EXIT_FAILED = 1
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the policy server",
        description="Run the policy server (gunicorn, gevent workers): hook decisions, audit log, bundle, metrics.",
    )
    serve.add_argument("--host", help="listen address (env REINS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (env REINS_PORT, default 8700)")
    add_db(serve)
    serve.add_argument(
        "--workers", type=int, help="worker processes (env REINS_WORKERS, default one per core)"
    )
    serve.add_argument(
        "--fail-mode",
        dest="fail_mode",
        choices=["auto", "open", "closed"],
        help="answer when an event cannot be audited (default auto: closed for scheduled runs)",
    )
    serve.add_argument(
        "--public-url",
        dest="public_url",
        help="URL developer machines reach this server at, written into /install.sh "
        "(env REINS_PUBLIC_URL; default: from the request's Host / X-Forwarded-* headers)",
    )
    _common(serve)
    serve.set_defaults(func=cmd_serve)

    policy = subparsers.add_parser(
        "policy",
        help="lint, test, evaluate and explain policies",
        description="Work with a policy directory: lint, run inline tests, evaluate a hook payload.",
    )
    verbs = policy.add_subparsers(dest="policy_verb", metavar="VERB")
    verbs.required = True

    lint = verbs.add_parser(
        "lint",
        help="check policies for errors",
        description="Schema and semantic checks; every problem names file:line, the rule and the fix. Exit 1 on errors.",
    )
    lint.add_argument(
        "directory",
        nargs="?",
        help="policy directory (default: --policies, REINS_POLICIES, or the bundled policies/)",
    )
    lint.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _common(lint)
    lint.set_defaults(func=cmd_lint)

    test = verbs.add_parser(
        "test",
        help="run every policy's inline tests",
        description="Run all inline tests; prints 'N passed, N failed'; exit 1 on any failure.",
    )
    test.add_argument("directory", nargs="?", help="policy directory (default as for lint)")
    test.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report")
    test.add_argument("-v", "--verbose", action="store_true", help="print passing tests too")
    _common(test)
    test.set_defaults(func=cmd_test)

    for name, func, text in (
        (
            "eval",
            cmd_eval,
            "Read one harness-native hook payload on stdin and print the decision as JSON.",
        ),
        (
            "explain",
            cmd_explain,
            "Like eval, but show every rule that looked at the event and why it did or did not match.",
        ),
    ):
        verb = verbs.add_parser(name, help=text.split(".")[0].lower(), description=text)
        verb.add_argument(
            "--harness",
            choices=["claude-code", "codex", "gemini"],
            help="harness of the payload (default: detected)",
        )
        verb.add_argument("--agent", help="agent name (default: interactive)")
        verb.add_argument("--user", help="user the event is attributed to")
        verb.add_argument(
            "--role",
            action="append",
            dest="roles",
            default=[],
            help="role of the user (repeatable)",
        )
        verb.add_argument("--home", help="home directory of the developer (default: $HOME)")
        if name == "explain":
            verb.add_argument("--json", action="store_true", help="print the trace as JSON")
            verb.add_argument(
                "--all", action="store_true", help="also list rules for other events and tools"
            )
        _common(verb)
        verb.set_defaults(func=func)


def _common(parser: argparse.ArgumentParser) -> None:
    add_policies(parser)
    add_config(parser)


def policy_dir(args: argparse.Namespace) -> Path:
    """The directory argument, else the configured policies, else the bundled ones."""
    from . import config
    from .loader import BUNDLED_POLICIES

    if getattr(args, "directory", None):
        return Path(args.directory)
    settings = config.load({"policies": args.policies, "config": args.config})
    return Path(settings["policies"]) if settings["policies"] else BUNDLED_POLICIES


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"reins: {message}", file=sys.stderr)
    return code


def _fail_with(exc: Exception) -> int:
    """``_fail`` with the message of ``exc`` on one line (its line breaks folded)."""
    return _fail(" ".join(str(exc).split()))


def cmd_serve(args: argparse.Namespace) -> int:
    from . import config
    from .live_policies import PolicyStartError
    from .serve import default_workers, run
    from .store import StoreError

    keys = ("host", "port", "db", "workers", "fail_mode", "policies", "config", "public_url")
    try:
        settings = config.load({k: getattr(args, k, None) for k in keys})
    except config.ConfigError as exc:
        return _fail(str(exc))
    settings["policies"] = str(policy_dir(args))
    settings["metrics_dir"] = str(Path(settings["db"]).parent / f"metrics-{settings['port']}")
    try:
        run(settings, settings["workers"] or default_workers())
    except (StoreError, PolicyStartError) as exc:
        return _fail(str(exc))
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from . import config
    from .lint import lint
    from .loader import load

    try:
        pack = load(policy_dir(args))
    except config.ConfigError as exc:
        return _fail(str(exc))
    problems = pack.problems + (lint(pack) if not pack.errors else [])
    for problem in problems:
        print(problem)
    errors = [p for p in problems if p.level == "error" or args.strict]
    rules = len(pack.policies.rules)
    print(
        f"{len(pack.files)} files, {rules} rules: {len(errors)} errors, {len(problems) - len(errors)} warnings"
    )
    return EXIT_FAILED if errors else 0


def cmd_test(args: argparse.Namespace) -> int:
    from . import config
    from .loader import PolicyLoadError, load_strict
    from .policy_tests import run_all, summary, write_junit

    try:
        pack = load_strict(policy_dir(args))
    except (config.ConfigError, PolicyLoadError) as exc:
        return _fail(f"cannot load policies:\n{exc}")
    results = list(run_all(pack.policies))
    for r in results:
        if not r.passed:
            print(
                f"FAIL {r.rule.source}:{r.rule.line} {r.rule.id} #{r.number} {r.name}: {r.message}"
            )
        elif args.verbose:
            print(f"ok   {r.rule.id} #{r.number} {r.name}")
    if args.junit:
        write_junit(results, Path(args.junit))
    print(summary(results))
    return EXIT_FAILED if any(not r.passed for r in results) else 0


def _read_payload() -> dict[str, Any]:
    data = sys.stdin.buffer.read(MAX_PAYLOAD_BYTES + 1)
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError(
            f"payload larger than {MAX_PAYLOAD_BYTES // (1024 * 1024)} MiB; hook payloads are small JSON objects"
        )
    if not data.strip():
        raise ValueError("no payload on stdin; pipe one hook payload (JSON) into this command")
    try:
        payload = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"payload is not valid JSON ({exc}); pipe the JSON a harness writes to a hook's stdin"
        ) from None
    return payload


def _decide(args: argparse.Namespace) -> tuple[Any, Any] | int:
    """(pack, event) for eval/explain, or the exit code after printing a one-line error."""
    from . import config
    from .engine.adapters import PayloadError, to_event
    from .loader import PolicyLoadError, load_strict

    try:
        payload = _read_payload()
        context = {
            "agent": args.agent or "interactive",
            "user": args.user or "",
            "roles": args.roles,
            "home": args.home if args.home is not None else os.environ.get("HOME", ""),
        }
        event = to_event(payload, args.harness, context)
        pack = load_strict(policy_dir(args))
    except (ValueError, PayloadError, config.ConfigError) as exc:
        return _fail_with(exc)
    except PolicyLoadError as exc:
        return _fail(f"cannot evaluate with broken policies:\n{exc}")
    return pack, event


def cmd_eval(args: argparse.Namespace) -> int:
    from .engine.responses import enforced_decision, render

    loaded = _decide(args)
    if isinstance(loaded, int):
        return loaded
    pack, event = loaded
    started = time.perf_counter()
    decision = pack.policies.evaluate(event)
    elapsed_us = (time.perf_counter() - started) * 1e6
    out = decision.to_dict()
    out.update(
        harness=event.harness,
        event=event.event,
        tool=event.tool,
        enforced_decision=enforced_decision(event.harness, event.event, decision.decision),
        harness_output=render(
            event.harness, event.event, decision.decision, decision.reason, decision.explicit_allow
        ),
        eval_us=round(elapsed_us, 1),
    )
    print(json.dumps(out, indent=2))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from .engine.conditions import commands_of

    loaded = _decide(args)
    if isinstance(loaded, int):
        return loaded
    pack, event = loaded
    decision = pack.policies.evaluate(event)
    trace = [t for t in pack.policies.explain(event) if args.all or t["looked"]]
    commands = [
        {
            "text": c.text,
            "program": c.program,
            "flags": sorted(c.flags),
            "paths": list(c.paths),
            "wrappers": list(c.wrappers),
            "unanalyzable": c.unanalyzable,
        }
        for c in commands_of(event)
    ]
    if args.json:
        print(
            json.dumps(
                {"decision": decision.to_dict(), "commands": commands, "rules": trace}, indent=2
            )
        )
        return 0
    print(f"event: {event.harness} {event.event} {event.tool or ''}".rstrip())
    for c in commands:
        note = f"  (unanalyzable: {c['unanalyzable']})" if c["unanalyzable"] else ""
        print(f"command: {c['text']}  flags={c['flags']} paths={c['paths']}{note}")
    for entry in trace:
        mark = "MATCH" if entry["matched"] else "-"
        print(
            f"{mark:5} {entry['id']} [{entry['decision']}{', shadow' if entry['mode'] == 'shadow' else ''}]: {entry['why']}"
        )
    print(f"decision: {decision.decision} — {decision.reason}")
    return 0
