"""``reins``: dispatch to the verbs each package registers. Parses nothing itself.

A package contributes verbs with a ``register(subparsers)`` function in its ``cli`` module; the
verb's handler is stored as ``func`` on the parsed arguments and returns the exit code.
Handlers import what they need lazily, so ``reins policy eval`` does not pay for Flask, and a
``cli`` module imports nothing heavy at its top: every command imports the providers up to its
own to build its parser (tests/reins/test_cli_imports.py keeps it so; ``bench/cli_start.py``
times it).
"""

from __future__ import annotations

import argparse
import atexit
import gc
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


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The ``reins`` parser. Given the command line, it stops importing providers once one has
    registered the verb ``argv`` starts with; without one (``reins --help``, an unknown verb)
    every provider registers, so the full list of verbs is shown."""
    parser = argparse.ArgumentParser(
        prog="reins",
        description="Reins: governance and a model gateway for coding agents.",
    )
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    verb = argv[0] if argv else None
    for name in VERB_PROVIDERS:
        importlib.import_module(name).register(subparsers)
        if verb in subparsers.choices:
            break
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    # The interpreter's last garbage collection at exit walks every object the command built:
    # ~25 ms after ``reins policy eval`` loads a pack, to free memory the process is about to
    # give back anyway (handlers close what they open). Freezing them first skips that walk, as
    # ``reins serve`` workers do after loading. Registered once, however often main() runs.
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
