"""``reins serve``: the policy server under gunicorn with gevent workers.

gunicorn's gevent worker monkey-patches each worker process before it imports the app; this
module does not patch anything itself (STYLE: patching happens in one place, the worker entry).
SIGHUP to the master reloads policies by restarting workers gracefully: in-flight requests
finish on the old workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import shutil
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    """One worker per core: a decision is CPU work plus one fsync shared by a whole batch."""
    return max(1, multiprocessing.cpu_count())


class PolicyServer(BaseApplication):
    """gunicorn application that builds the Flask app inside each worker (after the fork)."""

    def __init__(self, settings: dict[str, Any], workers: int) -> None:
        self.settings = settings
        self.workers = workers
        super().__init__()

    def load_config(self) -> None:
        self.cfg.set("bind", f"{self.settings['host']}:{self.settings['port']}")
        self.cfg.set("workers", self.workers)
        self.cfg.set("worker_class", "policy_server.http_worker.HookWorker")
        self.cfg.set("worker_connections", 1000)
        self.cfg.set("keepalive", 75)
        self.cfg.set("graceful_timeout", 30)
        self.cfg.set("timeout", 60)
        self.cfg.set("accesslog", None)
        self.cfg.set("errorlog", "-")
        self.cfg.set("loglevel", self.settings.get("log_level", "info"))
        self.cfg.set("proc_name", "reins-serve")
        # gunicorn's control socket lives in $HOME and would collide between two servers.
        self.cfg.set("control_socket_disable", True)
        self.cfg.set("post_worker_init", _after_worker_init)
        self.cfg.set("worker_exit", _flush_metrics)

    def load(self) -> Any:
        from .app import create_app

        return create_app(self.settings)


def _after_worker_init(worker: Any) -> None:
    """The app is loaded: keep its long-lived objects (the compiled policy pack, ~68,000 of
    them) out of the garbage collector's full passes, which took ~13 ms each and landed on
    whichever request was running; then start the metrics flusher."""
    import gc

    gc.freeze()
    _start_metrics_flusher(worker)


def _start_metrics_flusher(worker: Any) -> None:
    import gevent

    def loop() -> None:
        while True:
            gevent.sleep(2)
            _flush_metrics(None, worker)

    gevent.spawn(loop)


def _flush_metrics(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    reins = getattr(app, "extensions", {}).get("reins") if app is not None else None
    if reins is not None:
        # A full disk must not take the worker down; the scrape just lags.
        with contextlib.suppress(OSError):
            reins.metrics.flush()


def run(settings: dict[str, Any], workers: int) -> None:
    """Check everything that can be checked before forking, then serve until stopped."""
    from . import store
    from .live_policies import LivePolicies
    from .loader import BUNDLED_POLICIES

    store.connect(
        settings["db"]
    ).close()  # create/migrate once, and fail early with a clear message
    LivePolicies(Path(settings.get("policies") or BUNDLED_POLICIES))  # refuses broken policies
    metrics_dir = Path(settings["metrics_dir"])
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    PolicyServer(settings, workers).run()
