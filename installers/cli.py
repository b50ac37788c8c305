"""``reins install|uninstall|doctor`` (also ``python3 -m installers ...``): parse, call, print.

Flags fall back to environment variables (``REINS_SERVER``, ``REINS_TOKEN``, ``REINS_AGENT``) so
the one-line installer can pass the token without it showing in ``ps``. Errors a person can fix
(``InstallError``) are printed as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from installers import config
from installers.client_files import FAIL_MODES, HARNESSES, InstallError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        choices=config.SCOPES,
        default="user",
        help="user settings (default), this project's settings, or machine-wide managed settings",
    )
    parser.add_argument(
        "--project",
        type=Path,
        default=None,
        help="project folder for --scope project (default: cwd)",
    )
    parser.add_argument(
        "--reins-home",
        type=Path,
        default=None,
        help="where the hook client lives (default: $REINS_HOME or ~/.reins; /opt/reins for managed)",
    )


def _harness_argument(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("harness", nargs="?", choices=HARNESSES, help=f"the harness to {what}")
    parser.add_argument(
        "--all", action="store_true", help=f"{what} every harness found on this machine"
    )


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The handler, with an ``InstallError`` turned into one line on stderr and exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except InstallError as exc:
            print(f"reins {args.verb}: {exc}", file=sys.stderr)
            return 2

    return run


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``install``, ``uninstall`` and ``doctor`` to the ``reins`` command."""
    install = subparsers.add_parser(
        "install", help="configure a harness to call Reins on every event (hook client + settings)"
    )
    _harness_argument(install, "configure")
    install.add_argument(
        "--server", default=os.environ.get("REINS_SERVER"), help="policy server URL ($REINS_SERVER)"
    )
    install.add_argument(
        "--token", default=os.environ.get("REINS_TOKEN"), help="your Reins token ($REINS_TOKEN)"
    )
    install.add_argument(
        "--agent",
        default=os.environ.get("REINS_AGENT", ""),
        help="agent name sent with every event",
    )
    install.add_argument(
        "--mode",
        choices=config.MODES,
        default="command",
        help="Claude Code: local hook client (default, works offline) or http hooks straight to the server",
    )
    install.add_argument(
        "--fail-mode",
        choices=FAIL_MODES,
        default=None,
        help="what the hook does with the server down and no cached bundle",
    )
    install.add_argument(
        "--gateway",
        default=None,
        help="also send the harness's model traffic through this Reins gateway URL",
    )
    install.add_argument(
        "--trust-all-folders",
        action="store_true",
        help="Gemini CLI, --scope managed: switch Gemini's folder trust off so the hooks run in"
        " every folder (Gemini runs no hook in a folder it does not trust); repositories' settings,"
        " MCP servers and .env then load without asking",
    )
    install.add_argument(
        "--python",
        default=None,
        help="python3 (>= 3.9) to run the hook with (default: this one, resolved)",
    )
    _common(install)
    install.set_defaults(func=_guarded(run_install))

    uninstall = subparsers.add_parser(
        "uninstall", help="remove Reins from a harness, restoring its files"
    )
    _harness_argument(uninstall, "restore")
    _common(uninstall)
    uninstall.set_defaults(func=_guarded(run_uninstall))

    doctor = subparsers.add_parser(
        "doctor", help="check that Reins really guards each harness here"
    )
    doctor.add_argument(
        "harness", nargs="?", choices=HARNESSES, help="one harness (default: the installed ones)"
    )
    _common(doctor)
    doctor.set_defaults(func=_guarded(run_doctor))


def _targets(args: argparse.Namespace, verb: str) -> list[str]:
    if args.all and args.harness:
        raise InstallError(f"give a harness or --all, not both (reins {verb} --all)")
    if args.all:
        from installers.installation import detected

        found = detected()
        if not found:
            raise InstallError(
                "no harness found (claude, codex, gemini on PATH or their config folders)"
            )
        return found
    if not args.harness:
        raise InstallError(f"name a harness ({', '.join(HARNESSES)}) or pass --all")
    return [args.harness]


def _home(args: argparse.Namespace) -> Path | None:
    return args.reins_home.expanduser().resolve() if args.reins_home else None


def run_install(args: argparse.Namespace) -> int:
    from installers.installation import install

    if not args.server or not args.token:
        raise InstallError("--server and --token are required (or REINS_SERVER / REINS_TOKEN)")
    for harness in _targets(args, "install"):
        options = config.Options(
            harness,
            args.server,
            args.token,
            agent=args.agent,
            scope=args.scope,
            mode=args.mode if harness == "claude-code" else "command",
            fail_mode=args.fail_mode,
            gateway=args.gateway,
            python=args.python,
            project=args.project or Path.cwd(),
            reins_home=_home(args),
            # with --all it is meant for Gemini CLI; named with another harness, it is refused
            trust_all_folders=args.trust_all_folders and (harness == "gemini" or not args.all),
        )
        print(f"{harness}:")
        for line in install(options):
            print(f"  {line}")
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    from installers import records
    from installers.installation import uninstall

    harnesses = [args.harness] if args.harness else []
    if args.all:
        home = config.client_home(args.scope, _home(args))
        harnesses = sorted({r["harness"] for r in records.all_records(home)})
        if not harnesses:
            raise InstallError(f"nothing to uninstall: no install recorded in {home}")
    elif not harnesses:
        raise InstallError(f"name a harness ({', '.join(HARNESSES)}) or pass --all")
    for harness in harnesses:
        print(f"{harness}:")
        for line in uninstall(harness, args.scope, args.project or Path.cwd(), _home(args)):
            print(f"  {line}")
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from installers import doctor

    home = config.client_home(args.scope, _home(args))
    harnesses = [args.harness] if args.harness else doctor.default_harnesses(home)
    checks = doctor.run(harnesses, home, (args.project or Path.cwd()).resolve())
    print(doctor.render(checks))
    return 1 if any(check.level == doctor.FAIL for check in checks) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python3 -m installers``."""
    parser = argparse.ArgumentParser(prog="python3 -m installers", description="Reins installers.")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    register(subparsers)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
