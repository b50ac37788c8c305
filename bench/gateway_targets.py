"""The processes the gateway benchmark drives: the fake upstream, LiteLLM's proxy, nginx and ``reins gateway``.

Each is started in its own process group, optionally pinned to one core, waited for until it
answers, and stopped by its own process-group id. LiteLLM is installed on first use into
``var/bench/litellm-venv`` at a pinned version — it is a yardstick for the benchmark, never a
dependency of Reins — and when it cannot be installed or started the benchmark goes on without it.
This module never reads or prints provider keys: the ones it hands to gateways are fakes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LITELLM_VERSION = "1.108.7"  # the version measured in shared/reference/gateway.md §10.2
LITELLM_VENV = ROOT / "var" / "bench" / "litellm-venv"
FAKE_KEYS = {"ANTHROPIC_API_KEY": "sk-ant-bench-fake", "OPENAI_API_KEY": "sk-bench-fake"}
MODEL = "claude-sonnet-4-5"


class StartError(RuntimeError):
    """A server that could not be started; the message says why (log tail included)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One started server process (and its children), with its log file and startup time."""

    def __init__(
        self, name: str, command: list[str], log: Path, cores: set[int] | None, env: dict[str, str]
    ) -> None:
        self.name = name
        self.log = log
        self.started = time.perf_counter()
        self.startup_s = float("nan")
        pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                start_new_session=True,
                preexec_fn=pin,
            )

    def wait_http(self, port: int, path: str, timeout: float) -> None:
        """Poll ``GET path`` until it answers 200; raise ``StartError`` with the log tail."""
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartError(
                    f"{self.name} exited with {self.process.returncode}: {self.tail()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=2) as sock,
            ):
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    self.startup_s = time.perf_counter() - self.started
                    return
            time.sleep(0.05)
        self.stop()
        raise StartError(
            f"{self.name} did not answer GET {path} within {timeout:.0f} s: {self.tail()}"
        )

    def tail(self, lines: int = 12) -> str:
        text = self.log.read_text(errors="replace").strip().splitlines()
        return "\n    " + "\n    ".join(text[-lines:]) if text else "(no output)"

    def pids(self) -> list[int]:
        """This process and all its descendants."""
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
            todo.extend(int(p) for p in out.stdout.split())
        return found

    def rss_mib(self) -> list[float]:
        sizes = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def start_upstream(
    workdir: Path, listeners: dict[str, str], events: int, cores: set[int] | None
) -> tuple[Server, dict[str, int]]:
    """The fake upstream with listeners ``{name: mode}``, and the port of each listener."""
    ports = {name: free_port() for name in listeners}
    command = [sys.executable, str(ROOT / "bench" / "gateway_upstream.py"), "--events", str(events)]
    for name, mode in listeners.items():
        command += ["--listen", f"{mode}:{ports[name]}"]
    server = Server("fake upstream", command, workdir / "upstream.log", cores, {})
    server.wait_http(next(iter(ports.values())), "/__stats", 15)
    return server, ports


def ensure_litellm(say: Any) -> Path:
    """The ``litellm`` executable of the benchmark's own venv, installing it on first use."""
    exe = LITELLM_VENV / "bin" / "litellm"
    python = LITELLM_VENV / "bin" / "python"
    if exe.exists() and installed_version(python) == LITELLM_VERSION:
        return exe
    say(
        f"installing litellm[proxy]=={LITELLM_VERSION} into {LITELLM_VENV} (first run only; minutes)"
    )
    base = getattr(sys, "_base_executable", None) or "python3"
    steps = [
        [base, "-m", "venv", str(LITELLM_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", f"litellm[proxy]=={LITELLM_VERSION}"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            raise StartError(f"'{' '.join(step)}' failed: " + " / ".join(tail))
    if installed_version(python) != LITELLM_VERSION:
        raise StartError(f"litellm {LITELLM_VERSION} is not importable from {python} after install")
    return exe


def installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def litellm_config(ports: dict[str, int], master_key: str) -> dict[str, Any]:
    """Aliases as in ``reins_config``; fallbacks via router settings; no retries, no cooldowns."""

    def entry(name: str, model: str, port: int, path: str = "") -> dict[str, Any]:
        base = f"http://127.0.0.1:{port}{path}"
        return {
            "model_name": name,
            "litellm_params": {"model": model, "api_base": base, "api_key": "sk-bench-fake"},
        }

    ok, limited = ports["ok"], ports["429-litellm"]
    return {
        "model_list": [
            entry(MODEL, f"anthropic/{MODEL}", ok),
            entry("claude-fallback", f"anthropic/{MODEL}", limited),
            entry("claude-to-gpt", "openai/gpt-5", ok, "/v1"),
            entry("claude-cross-fallback", f"anthropic/{MODEL}", limited),
        ],
        "litellm_settings": {"callbacks": [], "num_retries": 0, "request_timeout": 60},
        "router_settings": {
            "num_retries": 0,
            "disable_cooldowns": True,
            "fallbacks": [
                {"claude-fallback": [MODEL]},
                {"claude-cross-fallback": ["claude-to-gpt"]},
            ],
        },
        "general_settings": {"master_key": master_key},
    }


def start_litellm(
    workdir: Path, ports: dict[str, int], cores: set[int] | None, say: Any
) -> tuple[Server, str, int]:
    """LiteLLM's proxy with one worker; returns (server, master key, port)."""
    exe = ensure_litellm(say)
    key = "sk-bench-" + secrets.token_hex(8)
    config = workdir / "litellm.yaml"
    config.write_text(yaml.safe_dump(litellm_config(ports, key)))
    port = free_port()
    command = [
        str(exe),
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", **FAKE_KEYS}
    server = Server(f"LiteLLM {LITELLM_VERSION}", command, workdir / "litellm.log", cores, env)
    server.wait_http(port, "/health/liveliness", 120)
    return server, key, port


def reins_config(ports: dict[str, int], translated: bool) -> dict[str, Any]:
    """Same aliases as LiteLLM's; the translated ones only when ``translated``."""
    ok, limited = f"http://127.0.0.1:{ports['ok']}", f"http://127.0.0.1:{ports['429-reins']}"
    providers: dict[str, Any] = {
        "anthropic": {"kind": "anthropic", "base_url": ok, "api_key_env": "ANTHROPIC_API_KEY"},
        "anthropic-limited": {
            "kind": "anthropic",
            "base_url": limited,
            "api_key_env": "ANTHROPIC_API_KEY",
        },
    }
    models: dict[str, Any] = {
        MODEL: [{"provider": "anthropic", "model": MODEL}],
        "claude-fallback": [
            {"provider": "anthropic-limited", "model": MODEL},
            {"provider": "anthropic", "model": MODEL},
        ],
    }
    if translated:
        providers["openai"] = {
            "kind": "openai",
            "base_url": ok + "/v1",
            "api_key_env": "OPENAI_API_KEY",
        }
        models["claude-to-gpt"] = [{"provider": "openai", "model": "gpt-5"}]
        models["claude-cross-fallback"] = [
            {"provider": "anthropic-limited", "model": MODEL},
            {"provider": "openai", "model": "gpt-5"},
        ]
    # Every fallback request must try the rate-limited primary: no cooldown, no open circuit.
    fallback = {"cooldown_s": 0, "failure_threshold": 1_000_000_000}
    return {"providers": providers, "models": models, "fallback": fallback}


def reins_available() -> bool:
    return (ROOT / "gateway" / "cli.py").exists()


def reins_token(db: Path) -> str:
    command = [
        sys.executable,
        "-m",
        "reins.cli",
        "token",
        "create",
        "--db",
        str(db),
        "--user",
        "bench",
        "--role",
        "developer",
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise StartError(f"reins token create failed: {done.stderr.strip()[-400:]}")
    return done.stdout.strip().splitlines()[-1]


def start_reins(
    workdir: Path, ports: dict[str, int], cores: set[int] | None, translated: bool
) -> tuple[Server, str, int]:
    """``reins gateway --workers 1`` on a fresh store; returns (server, token, port)."""
    db = workdir / "reins.db"
    token = reins_token(db)
    config = workdir / ("reins-translated.yaml" if translated else "reins.yaml")
    config.write_text(yaml.safe_dump(reins_config(ports, translated)))
    port = free_port()
    command = [
        sys.executable, "-m", "reins.cli", "gateway", "--host", "127.0.0.1", "--port", str(port),
        "--config", str(config), "--db", str(db), "--workers", "1",
    ]  # fmt: skip
    server = Server("reins gateway", command, workdir / f"reins-{port}.log", cores, dict(FAKE_KEYS))
    server.wait_http(port, "/healthz", 30)
    return server, token, port


def start_floor(
    workdir: Path, ports: dict[str, int], cores: set[int] | None, work_db: Path | None = None
) -> tuple[Server, str, int]:
    """The minimal gevent proxy of ``gateway_floor.py`` (a yardstick); (server, key, port).

    With ``work_db`` it also does Reins' per-request work (``--work``), and the key it returns
    is a Reins token of that store."""
    port = free_port()
    key = FAKE_KEYS["ANTHROPIC_API_KEY"]
    command = [
        sys.executable, str(ROOT / "bench" / "gateway_floor.py"), str(port), str(ports["ok"]), key,
    ]  # fmt: skip
    name = "floor proxy"
    if work_db is not None:
        command += ["--work", str(work_db)]
        name, key = "floor+work proxy", reins_token(work_db)
    server = Server(name, command, workdir / f"floor-{port}.log", cores, {})
    server.wait_http(port, "/__stats", 15)
    return server, key, port


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-tmp;
    proxy_temp_path {work}/nginx-tmp;
    client_max_body_size 0;
    client_body_buffer_size 1m;
    keepalive_requests 100000000;
    keepalive_timeout 600s;
    upstream fake {{ server 127.0.0.1:{upstream}; keepalive 128; keepalive_requests 100000000; }}
    server {{
        listen 127.0.0.1:{port} backlog=2048;
        location / {{
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_set_header Connection "";
            proxy_set_header Host upstream;
            proxy_set_header x-api-key {key};
            proxy_set_header Authorization "";
        }}
    }}
}}
"""


def nginx_executable() -> str | None:
    """nginx on PATH or in the usual sbin folders (not always on a non-root PATH)."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def start_nginx(
    workdir: Path, ports: dict[str, int], cores: set[int] | None
) -> tuple[Server, str, int]:
    """nginx as a plain keep-alive reverse proxy (a compiled yardstick); (server, key, port).

    One process (no master), the provider key swapped in, nothing else. Raises ``StartError``
    when there is no ``nginx`` executable (Debian: ``apt-get install nginx-light``)."""
    exe = nginx_executable()
    if exe is None:
        raise StartError("no nginx executable (Debian: apt-get install nginx-light)")
    port = free_port()
    key = FAKE_KEYS["ANTHROPIC_API_KEY"]
    (workdir / "nginx-tmp").mkdir(exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=workdir, upstream=ports["ok"], port=port, key=key))
    command = [exe, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "nginx-error.log")]
    server = Server("nginx", command, workdir / "nginx.log", cores, {})
    server.wait_http(port, "/__stats", 15)
    return server, key, port


def upstream_counts(port: int) -> dict[str, int]:
    """Requests each listener of the fake upstream has served so far."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /__stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return json.loads(data.partition(b"\r\n\r\n")[2])
