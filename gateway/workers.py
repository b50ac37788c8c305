"""Processes for ``reins gateway``: one gevent ``StreamServer`` per worker, all on one port.

Workers share the port either through one listening socket created before forking
(``shared``, the default) or each with its own ``SO_REUSEPORT`` socket (``reuseport``; the kernel
spreads connections). The parent only forks, restarts a worker that died, and forwards
SIGTERM/SIGINT; each worker stops accepting, lets requests in flight finish, and flushes its
pending usage rows before it exits. Expects gevent's monkey-patching to be done (see ``cli``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import gevent
from gevent.server import StreamServer

from . import host_idle
from .config import GatewayConfig
from .server import Gateway, make_gateway

BACKLOG = 2048
GRACE_S = 30.0
GC_THRESHOLD = 20_000


def run(config: GatewayConfig, settings: dict[str, Any]) -> int:
    """Check the store, build the gateway, listen, and serve until told to stop."""
    from policy_server import store

    db = Path(settings["db"])
    store.connect(db).close()  # create or migrate once, and fail early with a clear message
    metrics_dir = db.parent / f"gateway-metrics-{settings['port']}"
    shutil.rmtree(metrics_dir, ignore_errors=True)
    bodies = Path(config.traffic_log) if config.traffic_log else db.parent / "gateway-bodies.jsonl"
    gw = make_gateway(
        config,
        db=db,
        metrics_dir=metrics_dir,
        bodies_log=bodies,
        workers=settings["workers"],  # sizes the rate-limit table all workers share
    )
    gw.refresh_tokens()
    reuseport = settings["balance"] == "reuseport" and settings["workers"] > 1
    listener = _listen(settings["host"], settings["port"], reuseport, reserve_only=reuseport)
    port = listener.getsockname()[1]
    _banner(gw, settings, port)
    if settings["workers"] == 1:
        return _serve(gw, listener)
    children: dict[int, int] = {}
    stopping: list[bool] = []

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            gw.limiter.worker = slot  # its own cells of the shared rate-limit table
            sock = _listen(settings["host"], port, True) if reuseport else listener
            os._exit(_serve(gw, sock))
        children[pid] = slot

    for slot in range(settings["workers"]):
        spawn(slot)

    def stop() -> None:
        stopping.append(True)
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    while children:
        gevent.sleep(0.2)
        for pid, slot in list(children.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                del children[pid]
                if not stopping:
                    print(
                        f"reins gateway: worker {pid} exited ({status}); restarting",
                        file=sys.stderr,
                    )
                    spawn(slot)
    shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _serve(gw: Gateway, listener: socket.socket) -> int:
    # Requests allocate many short-lived objects and pending usage rows live ~0.5 s: fewer,
    # later collections (and startup objects frozen out of them) save ~5 % CPU per request.
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 20, 50)
    server = StreamServer(listener, gw.handle)
    background = gw.start_background()

    def stop() -> None:
        # Stop accepting; connections in flight get GRACE_S to finish.
        gevent.spawn(server.stop, GRACE_S)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    server.serve_forever()
    gevent.killall(background)
    gw.close()  # flushes the pending usage rows
    gw.metrics.flush()
    return 0


def _listen(host: str, port: int, reuseport: bool, reserve_only: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if not reserve_only:  # a bound socket that never listens holds the port for the workers
        sock.listen(BACKLOG)
    return sock


def _banner(gw: Gateway, settings: dict[str, Any], port: int) -> None:
    url = f"http://{settings['host']}:{port}"
    print(
        f"reins gateway: listening on {url} ({settings['workers']} worker(s), "
        f"{len(gw.tokens.by_hash)} token(s) loaded, store {settings['db']})",
        flush=True,
    )
    print(
        f"reins gateway: Claude Code: ANTHROPIC_BASE_URL={url} ANTHROPIC_AUTH_TOKEN=<reins token>; "
        f'Codex: base_url = "{url}/v1", supports_websockets = false',
        flush=True,
    )
    for provider, env in gw.missing_keys().items():
        print(
            f"reins gateway: no key for provider '{provider}': set {env} in the gateway's "
            "environment (requests routed to it are refused until then)",
            flush=True,
        )
    note = host_idle.warning()
    if note:
        print(f"reins gateway: {note}", flush=True)
    if not gw.config.auth_required:
        print(
            "reins gateway: WARNING auth.required is false: anyone who can connect may use it",
            flush=True,
        )
