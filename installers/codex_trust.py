"""Ask the real Codex which hooks it sees and what their trust hashes are (``codex app-server``).

Codex 0.171 runs a non-managed hook only when ``[hooks.state."<key>"] trusted_hash`` in
``$CODEX_HOME/config.toml`` equals the hash of the hook's current definition; untrusted hooks
are skipped silently and the tool runs. There is no trust API, but the app server (JSON-RPC,
one JSON object per line on stdio) answers ``hooks/list`` with each hook's ``key``,
``currentHash`` and ``trustStatus``; writing those hashes is what the Codex UI does when a user
approves a hook. This module only talks to the app server; it writes no file itself (it
creates an absent ``CODEX_HOME``, as Codex does on first start).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from pathlib import Path

from installers.client_files import InstallError
from installers.hook_entries import HOOK_FILE

TIMEOUT_S = 30.0


class CodexMissing(InstallError):
    """Codex is not installed: hooks can be written, but not trusted yet."""


def _read_reply(process: subprocess.Popen, wanted: int, deadline: float) -> dict:
    """The JSON-RPC reply with id ``wanted``; notifications in between are ignored."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while time.monotonic() < deadline:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("id") == wanted:
                    return message
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise InstallError(
                    f"codex app-server exited before answering hooks/list (exit {process.wait()});"
                    " run `codex app-server` by hand to see why"
                )
            buffer += chunk
    finally:
        selector.close()
    raise InstallError(
        "codex app-server did not answer hooks/list in time; run `reins doctor codex`"
    )


def list_hooks(codex: str, codex_home: Path, cwd: Path, timeout: float = TIMEOUT_S) -> list[dict]:
    """Every hook Codex sees for ``cwd``: dicts with ``key``, ``command``, ``sourcePath``,
    ``currentHash``, ``trustStatus``, ``isManaged`` (as the app server reports them)."""
    env = dict(os.environ, CODEX_HOME=str(codex_home))
    Path(codex_home).mkdir(parents=True, exist_ok=True)  # Codex will not start without it
    try:
        process = subprocess.Popen(
            [codex, "app-server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=str(cwd),
            env=env,
        )
    except OSError as exc:
        raise CodexMissing(f"cannot start {codex} app-server: {exc}") from exc
    deadline = time.monotonic() + timeout
    messages = [
        {
            "id": 1,
            "method": "initialize",
            "params": {"clientInfo": {"name": "reins", "version": "1"}},
        },
        {"method": "initialized"},
        {"id": 2, "method": "hooks/list", "params": {"cwds": [str(cwd)]}},
    ]
    try:
        process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        process.stdin.flush()
        reply = _read_reply(process, 2, deadline)
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdin.close()
        process.stdout.close()
    if "error" in reply:
        raise InstallError(f"codex app-server refused hooks/list: {reply['error']}")
    hooks = []
    for entry in reply.get("result", {}).get("data", []):
        hooks.extend(entry.get("hooks", []))
    return hooks


def reins_hooks(hooks: list[dict], source: Path) -> list[dict]:
    """The Reins hooks defined in ``source`` (the file the installer wrote)."""
    return [
        h
        for h in hooks
        if HOOK_FILE in str(h.get("command", "")) and Path(str(h.get("sourcePath", ""))) == source
    ]
