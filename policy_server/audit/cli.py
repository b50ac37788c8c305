"""``reins audit export|verify|prune``: thin shell over the audit library.

Exit codes: 0 done, 1 the log is broken or could not be written, 2 a usage error (no such store,
bad date, bad format), always with one line on stderr. ``export`` writes only records to stdout.

The checkpoint key is read from ``REINS_AUDIT_KEY`` (hex) or the file ``<db>.key`` next to the
store; ``prune`` creates that file (mode 0600) on first use. Keep a copy off the machine: it is
what proves a checkpoint was not forged.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

# Only what building the parser needs: every ``reins`` command imports this module.
from policy_server.cli import _fail
from policy_server.flags import store_flags

if TYPE_CHECKING:
    import sqlite3

EXIT_BROKEN = 1
EXIT_USAGE = 2
KEY_ENV = "REINS_AUDIT_KEY"
PUBLIC_KEY_ENV = "REINS_AUDIT_PUBLIC_KEY"
MIN_KEY_BYTES = 16


class UsageError(Exception):
    """A problem with the command line or the environment; the message says what to do."""


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="export, verify and prune the audit log",
        description="Work with the tamper-evident audit log in the store.",
    )
    verbs = audit.add_subparsers(dest="audit_verb", metavar="VERB")
    verbs.required = True

    export = verbs.add_parser(
        "export",
        help="stream audit records as jsonl, csv or ocsf",
        description="Stream audit records in seq order to stdout (or --out). WHEN is an ISO date "
        "or datetime (UTC unless it has an offset), today, yesterday, or Nd for N days ago.",
    )
    export.add_argument(
        "--format",
        default="jsonl",
        metavar="jsonl|csv|ocsf",
        help="jsonl: stored records with their hashes (verifiable offline); csv: fixed columns; "
        "ocsf: OCSF 1.6.0 API Activity (class 6003). Default: jsonl",
    )
    export.add_argument("--since", metavar="WHEN", help="records at or after WHEN")
    export.add_argument("--until", metavar="WHEN", help="records before WHEN")
    export.add_argument("--agent", metavar="NAME", help="only this agent's records")
    export.add_argument(
        "--decision",
        metavar="allow|deny|ask|error",
        help="only this decision (error: requests that could not be decided)",
    )
    export.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    store_flags(export)
    export.set_defaults(func=cmd_export)

    check = verbs.add_parser(
        "verify",
        help="check the hash chain and name the first bad record",
        description="Recompute the hash chain; print 'ok: N records verified', or "
        "'broken at seq S: <problem>' on stderr and exit 1. Checkpoint signatures (Ed25519) are "
        f"checked with --public-key, or with the audit key when available ({KEY_ENV} or <db>.key).",
    )
    check.add_argument(
        "--public-key",
        metavar="HEX",
        help=f"the audit public key to check checkpoint signatures with (env {PUBLIC_KEY_ENV}; "
        "default: derived from the audit key when this machine has it); printed by prune",
    )
    check.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="also require record SEQ with this hash (a head printed by an earlier verify): "
        "catches records cut from the end or a rewritten tail",
    )
    store_flags(check)
    check.set_defaults(func=cmd_verify)

    prune = verbs.add_parser(
        "prune",
        help="delete old records behind a signed checkpoint",
        description="Delete records received before DATE, writing a signed checkpoint and a "
        "retention.prune record. Refuses records younger than 180 days unless --force.",
    )
    prune.add_argument("--before", metavar="DATE", required=True, help="prune records before DATE")
    prune.add_argument(
        "--force", action="store_true", help="allow pruning inside the 180-day retention floor"
    )
    store_flags(prune)
    prune.set_defaults(func=cmd_prune)


def _handler(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The one place errors become messages: one line on stderr and an exit code."""

    @functools.wraps(run)
    def handle(args: argparse.Namespace) -> int:
        import sqlite3

        from policy_server import store

        try:
            return run(args)
        except BrokenPipeError:
            # The reader left (``reins audit export | head``): not an error worth a message.
            # Point stdout at /dev/null so Python's final flush does not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_BROKEN
        except (UsageError, ValueError, store.StoreError) as exc:  # ConfigError is a ValueError
            return _fail(str(exc), EXIT_USAGE)
        except sqlite3.Error as exc:
            return _fail(f"the audit log could not be read or written: {exc}", EXIT_BROKEN)

    return handle


@_handler
def cmd_export(args: argparse.Namespace) -> int:
    # Imported here, like every handler's library: ``reins --help`` must not load the engine.
    from .export import FORMATS, export, parse_time

    since = parse_time(args.since) if args.since else None
    until = parse_time(args.until) if args.until else None
    if args.format not in FORMATS:
        raise UsageError(f"unknown --format {args.format!r}; use one of {', '.join(FORMATS)}")
    with _store(args) as (conn, _), _output(args.out) as out:
        count = export(
            conn,
            args.format,
            out,
            since_us=since,
            until_us=until,
            agent=args.agent,
            decision=args.decision,
        )
    if args.out:
        print(f"reins: exported {count} records to {args.out}", file=sys.stderr)
    return 0


@_handler
def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify

    anchor = _parse_head(args.expect_head) if args.expect_head else None
    with _store(args) as (conn, path):
        public = _public_key(args.public_key or os.environ.get(PUBLIC_KEY_ENV))
        key = None if public else audit_key(path, create=False)
        result = verify(conn, key=key, public_key=public, expect_head=anchor)
    if not result.ok:
        print(f"broken at seq {result.first_bad_seq}: {result.problem}", file=sys.stderr)
        return EXIT_BROKEN
    print(f"ok: {result.checked} records verified")
    if result.head_seq:
        print(f"head: {result.head_seq}:{result.head_hash}  (keep it; --expect-head checks it)")
    return 0


def _public_key(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        public = bytes.fromhex(text.strip())
    except ValueError:
        public = b""
    if len(public) != 32:
        raise ValueError(
            f"--public-key / {PUBLIC_KEY_ENV} must be 64 hex characters (the 'public key:' line "
            "printed by `reins audit prune`)"
        )
    return public


def _parse_head(text: str) -> tuple[int, str]:
    seq, _, hash_ = text.partition(":")
    if not seq.isdigit() or not hash_.startswith("sha256:") or len(hash_) != 71:
        raise ValueError(
            f"--expect-head {text!r} is not SEQ:HASH; copy the 'head:' line of an earlier "
            "`reins audit verify`, e.g. 42:sha256:9f2c..."
        )
    return int(seq), hash_


@_handler
def cmd_prune(args: argparse.Namespace) -> int:
    from . import checkpoints
    from .export import parse_time
    from .prune import prune

    before = parse_time(args.before)
    with _store(args) as (conn, path):
        key = audit_key(path, create=True)
        now_us = time.time_ns() // 1000
        result = prune(conn, before, key=key, force=args.force, now_us=now_us, user=_user())
    if not result.deleted:
        print(f"nothing to prune: no records received before {args.before}")
    else:
        print(
            f"pruned {result.deleted} records (seq {result.seq_from}..{result.seq_to}), "
            f"checkpoint {result.checkpoint_id}"
        )
        print(
            f"public key: {checkpoints.public_key(key).hex()}  (auditors verify checkpoints "
            "with it: reins audit verify --public-key HEX)"
        )
    return 0


@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """The configured store, which must already exist (reading must not create an empty one)."""
    from policy_server import config, store

    path = Path(config.load({"db": args.db, "config": args.config})["db"])
    if not path.is_file():
        raise UsageError(f"no store at {path}; pass --db PATH or set REINS_DB")
    conn = store.connect(path)
    try:
        yield conn, path
    finally:
        conn.close()


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()  # a closed pipe shows here, inside the handler
        return
    try:
        out = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with out:
        yield out


def audit_key(db: Path, *, create: bool) -> bytes | None:
    """The checkpoint key: ``REINS_AUDIT_KEY`` (hex), else ``<db>.key``, created 0600 with
    ``create`` (the first prune); None when there is none and ``create`` is false."""
    text, origin = os.environ.get(KEY_ENV), KEY_ENV
    path = Path(f"{db}.key")
    if not text:
        origin = str(path)
        try:
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            if not create:
                return None
            return _create_key(path) or audit_key(db, create=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the audit key {path}: {exc}") from None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(
            f"the audit key in {origin} must be at least {MIN_KEY_BYTES} bytes written as hex "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
    return key


def _create_key(path: Path) -> bytes | None:
    """A new random key written to ``path`` (0600); None if another process created it first."""
    import secrets

    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot create the audit key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""
