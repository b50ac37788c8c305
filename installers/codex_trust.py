"""Ask the real Codex which hooks it sees and what their trust hashes are (``codex app-server``).

Codex 0.171 runs a non-managed hook only when ``[hooks.state."<key>"] trusted_hash`` in
``$CODEX_HOME/config.toml`` equals the hash of the hook's current definition; untrusted hooks
are skipped silently and the tool runs. There is no trust API, but the app server (JSON-RPC,
one JSON object per line on stdio) answers ``hooks/list`` with each hook's ``key``,
``currentHash`` and ``trustStatus``; writing those hashes is what the Codex UI does when a user
approves a hook. ``read_state`` also asks for the config layers Codex loaded for a folder
(``config/read``: which files it read, which project files it skipped as untrusted) and the admin's
requirements (``configRequirements/read``), which decide whether ``[features] hooks = false``
switches the hooks off. This module only talks to the app server; it writes no file itself (it
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


def _read_replies(process: subprocess.Popen, wanted: set[int], deadline: float) -> dict[int, dict]:
    """The JSON-RPC replies with the ids in ``wanted``; notifications in between are ignored."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer, replies = b"", {}
    try:
        while time.monotonic() < deadline:
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("id") in wanted:
                    replies[message["id"]] = message
            if len(replies) == len(wanted):
                return replies
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise InstallError(
                    f"codex app-server exited before answering (exit {process.wait()});"
                    " run `codex app-server` by hand to see why"
                )
            buffer += chunk
    finally:
        selector.close()
    raise InstallError("codex app-server did not answer in time; run `reins doctor codex`")


def ask(
    codex: str,
    codex_home: Path,
    cwd: Path,
    requests: list[tuple[str, object]],
    timeout: float = TIMEOUT_S,
) -> list[dict]:
    """The results of ``requests`` (``(method, params)`` pairs, in order), asked of one
    ``codex app-server`` started in ``cwd`` with ``CODEX_HOME=codex_home``."""
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
    first = 2  # id 1 is initialize
    messages = [
        {
            "id": 1,
            "method": "initialize",
            "params": {"clientInfo": {"name": "reins", "version": "1"}},
        },
        {"method": "initialized"},
        *(
            {"id": first + n, "method": method, "params": params}
            for n, (method, params) in enumerate(requests)
        ),
    ]
    try:
        process.stdin.write(b"".join(json.dumps(m).encode() + b"\n" for m in messages))
        process.stdin.flush()
        replies = _read_replies(process, set(range(first, first + len(requests))), deadline)
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdin.close()
        process.stdout.close()
    results = []
    for n, (method, _) in enumerate(requests):
        reply = replies[first + n]
        if "error" in reply:
            raise InstallError(f"codex app-server refused {method}: {reply['error']}")
        results.append(reply.get("result") or {})
    return results


def hooks_request(cwd: Path) -> tuple[str, object]:
    return ("hooks/list", {"cwds": [str(cwd)]})


def hooks_of(result: dict) -> list[dict]:
    """The hooks in a ``hooks/list`` result: dicts with ``key``, ``command``, ``sourcePath``,
    ``currentHash``, ``trustStatus``, ``enabled``, ``isManaged`` (as the app server reports them)."""
    return [hook for entry in result.get("data", []) for hook in entry.get("hooks", [])]


def list_hooks(codex: str, codex_home: Path, cwd: Path, timeout: float = TIMEOUT_S) -> list[dict]:
    """Every hook Codex sees for ``cwd`` (see :func:`hooks_of`)."""
    [result] = ask(codex, codex_home, cwd, [hooks_request(cwd)], timeout)
    return hooks_of(result)


def read_state(codex: str, codex_home: Path, cwd: Path) -> tuple[list[dict], dict, dict]:
    """``(hooks, config, requirements)`` for ``cwd``, from one app server: the hooks (see
    :func:`hooks_of`); the ``config/read`` result (``config``: the merged settings; ``layers``:
    each file, highest first, with ``disabledReason`` when Codex skipped it); the requirements
    (``featureRequirements``, ``allowManagedHooksOnly``, ...; {} without any)."""
    hooks, settings, requirements = ask(
        codex,
        codex_home,
        cwd,
        [
            hooks_request(cwd),
            ("config/read", {"includeLayers": True, "cwd": str(cwd)}),
            ("configRequirements/read", None),
        ],
    )
    return hooks_of(hooks), settings, requirements.get("requirements") or {}


def reins_hooks(hooks: list[dict], source: Path) -> list[dict]:
    """The Reins hooks defined in ``source`` (the file the installer wrote)."""
    return [
        h
        for h in hooks
        if HOOK_FILE in str(h.get("command", "")) and Path(str(h.get("sourcePath", ""))) == source
    ]
