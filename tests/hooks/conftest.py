"""Fixtures for the hook client: an installed ``$REINS_HOME``, the hook run in-process or as the
real file in a subprocess (``python3 -I -S reins_hook.py <harness>``), a live ``reins serve``."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from installers.client_files import install_client

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "hooks" / "reins_hook.py"
PY39_CANDIDATES = [str(Path.home() / ".pyenv/versions/3.9.18/bin/python"), "python3.9"]


def python39() -> str | None:
    """A working Python 3.9 (a version-manager shim may exist and still fail to run)."""
    for candidate in PY39_CANDIDATES:
        path = candidate if Path(candidate).exists() else shutil.which(candidate)
        if not path:
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return path
    return None


@pytest.fixture(params=["current", "py39"], ids=["py-current", "py39"])
def python(request: pytest.FixtureRequest) -> str:
    """Each interpreter the client must run on: this one, and 3.9 (skipped when absent)."""
    if request.param == "current":
        return os.path.realpath(sys.executable)
    found = python39()
    if found is None:
        pytest.skip("no Python 3.9 interpreter on this machine")
    return found


def load_hook_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reins_hook_under_test", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def hook() -> ModuleType:
    """``hooks/reins_hook.py`` imported as a module, for its pure helpers and in-process runs."""
    return load_hook_module()


@pytest.fixture
def dead_url() -> str:
    """A URL nothing listens on: connection refused at once."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Result:
    answer: dict
    stderr: str
    returncode: int = 0
    seconds: float = 0.0


@dataclass
class Client:
    """An installed hook client under ``home`` and the environment a harness would give it."""

    home: Path
    env: dict[str, str]
    module: ModuleType

    def run(self, payload: Any, harness: str = "claude-code", **env: str) -> Result:
        """In-process: ``run()`` of the module, with this client's environment."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        environ = {**self.env, **env}
        started = time.monotonic()
        answer, problems = self.module.run(harness, raw, environ, started)
        return Result(json.loads(answer), "\n".join(problems), 0, time.monotonic() - started)

    def spawn(
        self, payload: Any, harness: str = "claude-code", python: str | None = None, **env: str
    ) -> Result:
        """The real installed file, as a harness runs it."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        command = [python or os.path.realpath(sys.executable), "-I", "-S"]
        command += (
            [str(self.home / "reins_hook.py"), harness]
            if harness
            else [str(self.home / "reins_hook.py")]
        )
        started = time.monotonic()
        done = subprocess.run(
            command, input=raw, capture_output=True, env={**self.env, **env}, timeout=60
        )
        seconds = time.monotonic() - started
        assert done.stdout.count(b"\n") == 1, done.stdout  # exactly one line: one JSON object
        return Result(json.loads(done.stdout), done.stderr.decode(), done.returncode, seconds)

    def spool(self) -> list[Path]:
        return sorted((self.home / "spool").glob("*.json"))

    def config(self, **changes: Any) -> None:
        path = self.home / "config.json"
        config = json.loads(path.read_text())
        config.update(changes)
        path.write_text(json.dumps(config))


@pytest.fixture(scope="session")
def bundle_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """``GET /v1/bundle`` of the default pack for user dana (developer), from an in-process app:
    for tests that need a cached bundle but not a running server."""
    from policy_server import store, tokens
    from policy_server.app import create_app

    db = tmp_path_factory.mktemp("bundle") / "reins.db"
    app = create_app({"db": str(db), "policies": None})
    conn = store.connect(db)
    token, _ = tokens.create(conn, "dana", ["developer"], now_us=1_000_000)
    conn.close()
    response = app.test_client().get("/v1/bundle", headers={"Authorization": f"Bearer {token}"})
    app.extensions["reins"].committer.close()
    assert response.status_code == 200
    return response.data


@pytest.fixture
def client_factory(tmp_path: Path, hook: ModuleType, bundle_bytes: bytes) -> Callable[..., Client]:
    """Install the client (``installers.client_files.install_client``) into a fresh folder;
    ``bundle=True`` also caches the default pack's bundle as if fetched at SessionStart."""
    count = iter(range(1000))

    def make(server: str, token: str = "tok-test", bundle: bool = False, **options: Any) -> Client:
        home = tmp_path / f"reins-home-{next(count)}"
        install_client(home, server=server, token=token, **options)
        if bundle:
            (home / "bundle.json").write_bytes(bundle_bytes)
        config = json.loads((home / "config.json").read_text())
        config["timeout"] = 10.0  # a loaded CI machine must not turn a test into an outage
        (home / "config.json").write_text(json.dumps(config))
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": "/home/dev",
            "REINS_HOME": str(home),
        }
        return Client(home, env, hook)

    return make


@dataclass
class Live:
    url: str
    db: Path
    dev: str
    auditor: str

    def audit(self, **filters: str) -> list[dict]:
        response = requests.get(
            self.url + "/v1/audit",
            params={"limit": 500, **filters},
            headers={"Authorization": f"Bearer {self.auditor}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["events"]


@pytest.fixture
def live(server_factory, token_factory, tmp_path: Path) -> Live:
    """A real ``reins serve`` with the default pack, a developer and an auditor token."""
    db = tmp_path / "live.db"
    server = server_factory(db)
    return Live(
        server.url, db, token_factory(db, "dana", "developer"), token_factory(db, "ada", "auditor")
    )
