"""The common command-line flags (DESIGN.md), declared once for every verb that needs them."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # building the CLI must stay cheap: sqlite3 is imported by ``store``
    import sqlite3


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", metavar="PATH", help="the store, a SQLite file (env REINS_DB, default var/reins.db)"
    )


def add_policies(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policies", metavar="DIR", help="policy directory (env REINS_POLICIES)")


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML config file (env REINS_CONFIG)")


def store_flags(parser: argparse.ArgumentParser) -> None:
    """``--db`` and ``--config``: verbs that work on the store."""
    add_db(parser)
    add_config(parser)


@contextmanager
def opened_store(args: argparse.Namespace) -> Iterator[sqlite3.Connection]:
    """The store the ``store_flags`` of ``args`` name (flag, environment, config file), closed
    after use."""
    from . import config, store  # lazily: building the CLI must stay cheap

    conn = store.connect(config.load({"db": args.db, "config": args.config})["db"])
    try:
        yield conn
    finally:
        conn.close()
