"""``reins up``: the policy server, the gateway and the scheduler on one machine, in one command.

A thin supervisor: each part runs as its own ``reins`` process (so each keeps its own entry
point, gevent patching included), their output is interleaved with a ``[part]`` prefix, and
when one part exits or the user presses Ctrl-C the others are stopped too. It prints what a
developer needs: the URLs, the one-line installer, and how to mint a token. It never creates
or prints a token itself: tokens are shown once, by ``reins token create``, to an admin.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: every `reins` command imports this module
    import subprocess

PARTS = ("serve", "gateway", "scheduler")
READY_TIMEOUT_S = 60


def register(subparsers: argparse._SubParsersAction) -> None:
    up = subparsers.add_parser(
        "up",
        help="run the policy server, gateway and scheduler together (what `make run` does)",
        description="Start `reins serve`, `reins gateway` and `reins scheduler` as child "
        "processes on this machine, print their URLs and the one-line installer, and stop them "
        "all on Ctrl-C or when one of them exits.",
    )
    up.add_argument("--host", default="127.0.0.1", help="listen address of both servers")
    up.add_argument("--port", type=int, default=8700, help="policy server port (default 8700)")
    up.add_argument("--gateway-port", type=int, default=8787, help="gateway port (default 8787)")
    up.add_argument("--db", help="the store (env REINS_DB, default var/reins.db)")
    up.add_argument("--policies", help="policy directory (env REINS_POLICIES)")
    up.add_argument("--config", help="YAML config file (env REINS_CONFIG)")
    up.add_argument("--workers", type=int, help="worker processes per server (default per core)")
    up.add_argument("--no-gateway", action="store_true", help="do not start the gateway")
    up.add_argument("--no-scheduler", action="store_true", help="do not start the scheduler")
    up.set_defaults(func=run)


def commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """The command line of each part to start, sharing the store, policies and config."""
    reins = [sys.executable, "-m", "reins.cli"]
    shared: list[str] = []
    for flag in ("db", "policies", "config"):
        if getattr(args, flag):
            shared += [f"--{flag}", getattr(args, flag)]
    workers = ["--workers", str(args.workers)] if args.workers else []
    server_url = f"http://{args.host}:{args.port}"
    gateway_url = f"http://{args.host}:{args.gateway_port}"
    parts = {
        "serve": [*reins, "serve", "--host", args.host, "--port", str(args.port), *workers],
        "gateway": [
            *reins,
            "gateway",
            "--host",
            args.host,
            "--port",
            str(args.gateway_port),
            *workers,
        ],
        "scheduler": [*reins, "scheduler", "--server-url", server_url],
    }
    if not args.no_gateway:
        parts["scheduler"] += ["--gateway-url", gateway_url]
    for name in list(parts):
        if (name == "gateway" and args.no_gateway) or (name == "scheduler" and args.no_scheduler):
            del parts[name]
            continue
        # The gateway reads its providers from --config too; --policies is not its flag.
        own = shared if name != "gateway" else _without(shared, "--policies")
        parts[name] += own
    return parts


def _without(flags: list[str], name: str) -> list[str]:
    out, skip = [], False
    for item in flags:
        if skip:
            skip = False
        elif item == name:
            skip = True
        else:
            out.append(item)
    return out


def run(args: argparse.Namespace) -> int:
    import subprocess
    import threading

    parts = commands(args)
    processes: dict[str, subprocess.Popen] = {}
    stop = threading.Event()
    try:
        for name, command in parts.items():
            processes[name] = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
            )
            threading.Thread(target=_relay, args=(name, processes[name]), daemon=True).start()
        urls = {"serve": f"http://{args.host}:{args.port}"}
        if "gateway" in parts:
            urls["gateway"] = f"http://{args.host}:{args.gateway_port}"
        if not _wait_ready(urls, processes):
            print("reins up: a part did not start; see its output above", file=sys.stderr)
            return 1
        print(banner(urls), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.is_set():
            exited = [n for n, p in processes.items() if p.poll() is not None]
            if exited:
                print(
                    f"reins up: {exited[0]} exited ({processes[exited[0]].returncode}); "
                    "stopping the others",
                    file=sys.stderr,
                )
                return 1
            stop.wait(0.5)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_all(processes)


def _relay(name: str, process: subprocess.Popen) -> None:
    assert process.stdout is not None
    for line in iter(process.stdout.readline, b""):
        sys.stdout.write(f"[{name}] {line.decode('utf-8', 'replace')}")
        sys.stdout.flush()


def _wait_ready(urls: dict[str, str], processes: dict[str, subprocess.Popen]) -> bool:
    import urllib.request  # here: every `reins` command imports this module to build its parser

    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = dict(urls)
    while pending and time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes.values()):
            return False
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    del pending[name]
            except OSError:
                pass
        time.sleep(0.2)
    return not pending


def _stop_all(processes: dict[str, subprocess.Popen]) -> None:
    import subprocess

    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def banner(urls: dict[str, str]) -> str:
    """What to tell the person who just started Reins."""
    reins = Path(sys.executable).with_name("reins")
    server = urls["serve"]
    lines = [
        "",
        "Reins is running.",
        f"  policy server  {server}   (hooks, audit, bundle, /metrics)",
    ]
    if "gateway" in urls:
        lines.append(f"  gateway        {urls['gateway']}   (model base URL for the harnesses)")
    lines += [
        "",
        "1. Mint a token for a developer (shown once):",
        f"     {reins} token create --user $USER --role developer",
        "2. On each developer machine, one line (needs sh, curl and python3 >= 3.9):",
        f"     curl -fsSL {server}/install.sh | sh -s -- --token <TOKEN>"
        + (f" --gateway {urls['gateway']}" if "gateway" in urls else ""),
    ]
    if "gateway" in urls:
        lines += [
            "3. Provider keys live only here, in the gateway's environment:",
            "     ANTHROPIC_API_KEY / OPENAI_API_KEY (see the README's gateway config)",
        ]
    lines.append("Ctrl-C stops everything.")
    return "\n".join(lines)
