"""``reins scheduler``: start agents' scheduled runs (also started by ``reins up``).

Thin shell: resolve settings, build a :class:`~policy_server.scheduler.service.Scheduler`, loop
until SIGINT/SIGTERM. ``--once`` runs one tick and waits for the runs it started (for cron
jobs and tests). Errors in settings or the store are one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

# Settings and the service are imported by the handler: building the parser must stay cheap.
from ..cli import _fail, policy_dir
from ..flags import add_config, add_db, add_policies


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scheduler",
        help="start agents' scheduled runs",
        description="Compute due runs from each agent's cron and start headless harness runs "
        "with hooks and gateway configured for the agent. Safe to run on several hosts.",
    )
    parser.add_argument("--once", action="store_true", help="one pass, wait for its runs, exit")
    parser.add_argument("--tick", type=float, help="seconds between passes (default 15)")
    parser.add_argument("--server-url", dest="server_url", help="policy server URL for hooks")
    parser.add_argument("--gateway-url", dest="gateway_url", help="gateway URL for model calls")
    parser.add_argument("--runs-dir", dest="runs_dir", help="where run working copies go")
    add_db(parser)
    add_policies(parser)
    add_config(parser)
    parser.set_defaults(func=cmd_scheduler)


def cmd_scheduler(args: argparse.Namespace) -> int:
    import logging

    from .. import config
    from ..store import StoreError
    from . import config as scheduler_config
    from .service import Scheduler

    keys = ("tick", "server_url", "gateway_url", "runs_dir")
    try:
        main = config.load({"db": args.db, "policies": args.policies, "config": args.config})
        settings = scheduler_config.load({k: getattr(args, k) for k in keys}, main["config"])
        scheduler = Scheduler(Path(main["db"]), policy_dir(args), settings)
    except (config.ConfigError, StoreError) as exc:
        return _fail(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.once:
        scheduler.tick()
        scheduler.wait()
        return 0
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: scheduler.stopping.set())
    scheduler.run_forever()
    return 0
