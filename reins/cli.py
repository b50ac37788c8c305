"""``reins``: dispatch to the verbs each package registers. Parses nothing itself.

A package contributes verbs with a ``register(subparsers)`` function in its ``cli`` module; the
verb's handler is stored as ``func`` on the parsed arguments and returns the exit code.
Handlers import what they need lazily, so ``reins policy eval`` does not pay for Flask.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that contribute verbs, in the order their verbs appear in ``reins --help``.
VERB_PROVIDERS = (
    "reins.up",
    "policy_server.cli",
    "policy_server.tokens_cli",
    "policy_server.audit.cli",
    "policy_server.registry.cli",
    "policy_server.scheduler.cli",
    "gateway.cli",
    "policy_server.budget_cli",
    "installers.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reins",
        description="Reins: governance and a model gateway for coding agents.",
    )
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    for name in VERB_PROVIDERS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
