"""``reins token create|list|revoke``: manage the API tokens that harnesses and people present.

A thin shell over ``tokens``: parse the arguments, open the store, call, format. ``create``
prints the new token alone on stdout, as the last line, so ``TOKEN=$(reins token create ...)``
works. Its note goes to stderr. Every error is one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

# The parser needs only the role names: hashing, the store and dates are the handlers' business.
from .cli import _fail, _fail_with
from .flags import opened_store, store_flags
from .roles import ROLES

US_PER_DAY = 86_400 * 1_000_000
COLUMNS = ("id", "prefix", "user", "roles", "created", "expires", "revoked", "description")


def register(subparsers: Any) -> None:
    token = subparsers.add_parser(
        "token",
        help="create, list and revoke API tokens",
        description="Manage API tokens. The store keeps only their hashes.",
    )
    verbs = token.add_subparsers(dest="token_verb", metavar="VERB")
    verbs.required = True

    create = verbs.add_parser(
        "create",
        help="create a token for a user",
        description="Create a token and print it as the last line of stdout. It is shown only once.",
    )
    create.add_argument("--user", required=True, help="who the token belongs to")
    create.add_argument(
        "--role",
        action="append",
        dest="roles",
        required=True,
        metavar="ROLE",
        help=f"one of {', '.join(ROLES)}; repeat for more roles",
    )
    create.add_argument("--description", default="", help="what the token is for")
    create.add_argument(
        "--expires-days", type=int, metavar="N", help="expire after N days (default: never)"
    )
    store_flags(create)
    create.set_defaults(func=cmd_create)

    listing = verbs.add_parser(
        "list",
        help="list tokens (never their secrets)",
        description="List every token: id, prefix, user, roles, created, expires, revoked (times in UTC).",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    store_flags(listing)
    listing.set_defaults(func=cmd_list)

    revoke = verbs.add_parser(
        "revoke",
        help="revoke a token",
        description="Revoke a token by id or by the prefix `reins token list` shows. "
        "Running servers reject it within a few seconds.",
    )
    revoke.add_argument("token", metavar="ID_OR_PREFIX", help="token id or prefix")
    store_flags(revoke)
    revoke.set_defaults(func=cmd_revoke)


def cmd_create(args: argparse.Namespace) -> int:
    from . import store, tokens

    now_us = time.time_ns() // 1000
    expires_us = None
    if args.expires_days is not None:
        if args.expires_days <= 0:
            return _fail(
                f"--expires-days must be a positive number of days, got {args.expires_days}"
            )
        expires_us = now_us + args.expires_days * US_PER_DAY
    try:
        with opened_store(args) as conn:
            token, info = tokens.create(
                conn,
                args.user,
                args.roles,
                description=args.description,
                expires_us=expires_us,
                now_us=now_us,
            )
    except (ValueError, store.StoreError) as exc:
        return _fail_with(exc)
    print(
        f"reins: created token {info.id} ({info.prefix}…) for {info.user} "
        f"with roles {', '.join(info.roles)}. Store it now; it is not shown again.",
        file=sys.stderr,
    )
    print(token)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from . import store, tokens

    try:
        with opened_store(args) as conn:
            infos = tokens.list_tokens(conn)
    except (ValueError, store.StoreError) as exc:
        return _fail_with(exc)
    if args.json:
        print(json.dumps([asdict(info) for info in infos], indent=2))
        return 0
    rows = [COLUMNS] + [
        (
            str(info.id),
            info.prefix,
            info.user,
            ",".join(info.roles),
            _when(info.created_us),
            _when(info.expires_us),
            _when(info.revoked_us),
            info.description,
        )
        for info in infos
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from . import store, tokens

    try:
        with opened_store(args) as conn:
            info = tokens.revoke(conn, args.token, time.time_ns() // 1000)
    except (ValueError, store.StoreError) as exc:
        return _fail_with(exc)
    print(f"revoked token {info.id} ({info.prefix}…) of {info.user} at {_when(info.revoked_us)}")
    return 0


def _when(time_us: int | None) -> str:
    if time_us is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time_us / 1_000_000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
