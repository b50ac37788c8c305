"""``reins gateway``: run the model gateway. The one place that monkey-patches (STYLE #12).

Thin shell: parse flags (flag > environment > default), patch, load and validate the config,
then hand over to ``gateway.workers``. Bad settings end as one clear message and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DEFAULT_PORT = 8787


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gateway",
        help="run the model gateway (data plane)",
        description=(
            "Run the gevent model gateway: Anthropic Messages, OpenAI Responses and Chat "
            "Completions in, passthrough with fallback to the configured providers, usage rows "
            "in the store."
        ),
    )
    parser.add_argument("--host", help="listen address (env REINS_GATEWAY_HOST, default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, help=f"listen port (env REINS_GATEWAY_PORT, default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="gateway YAML: a standalone file or the main config with a gateway: section (env REINS_CONFIG)",
    )
    parser.add_argument(
        "--db", metavar="PATH", help="the store, a SQLite file (env REINS_DB, default var/reins.db)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes sharing the port (env REINS_GATEWAY_WORKERS, default one per core)",
    )
    parser.add_argument(
        "--balance",
        choices=("shared", "reuseport"),
        default=os.environ.get("REINS_GATEWAY_BALANCE", "shared"),
        help="how workers share the port: one inherited socket (default) or SO_REUSEPORT",
    )
    parser.set_defaults(func=cmd_gateway)


def settings_from(
    args: argparse.Namespace, environ: dict[str, str] | os._Environ
) -> dict[str, Any]:
    """Flag > environment > default, checked; raises ValueError naming the bad setting."""
    port = args.port if args.port is not None else environ.get("REINS_GATEWAY_PORT", DEFAULT_PORT)
    workers = args.workers if args.workers is not None else environ.get("REINS_GATEWAY_WORKERS")
    try:
        port = int(port)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"port {port!r} is not a port number (0-65535); fix --port or REINS_GATEWAY_PORT"
        ) from None
    if workers is None:
        workers = os.cpu_count() or 1
    try:
        workers = int(workers)
        if not 1 <= workers <= 64:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"workers {workers!r} must be between 1 and 64; fix --workers or REINS_GATEWAY_WORKERS"
        ) from None
    return {
        "host": args.host or environ.get("REINS_GATEWAY_HOST", "127.0.0.1"),
        "port": port,
        "config": args.config or environ.get("REINS_CONFIG"),
        "db": args.db or environ.get("REINS_DB", "var/reins.db"),
        "workers": workers,
        "balance": args.balance,
    }


def cmd_gateway(args: argparse.Namespace) -> int:
    # Patch before the gateway's modules (or ``ssl``) are imported: building the CLI imports no
    # verb's heavy modules (tests/reins/test_cli_imports.py keeps it so).
    from gevent import monkey

    monkey.patch_all()

    from policy_server.store import StoreError

    from .config import GatewayConfigError, load_file
    from .costing import check_config
    from .workers import run

    try:
        settings = settings_from(args, os.environ)
        config = load_file(settings["config"])
        check_config(config)  # prices: and budgets: sections (PriceTableError, BudgetError)
    except (ValueError, GatewayConfigError) as exc:
        print(f"reins gateway: {exc}", file=sys.stderr)
        return 2
    try:
        return run(config, settings)
    except StoreError as exc:
        print(f"reins gateway: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"reins gateway: cannot listen on {settings['host']}:{settings['port']}: {exc}",
            file=sys.stderr,
        )
        return 2
