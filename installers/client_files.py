"""Lay out the hook client under ``$REINS_HOME`` (default ``~/.reins``) and build its command line.

The layout (agreed with the hook client, the one-line installer and the e2e suite):

- ``reins_hook.py``: a four-line launcher that imports ``lib/reins_hook.py`` (a copy of
  ``hooks/reins_hook.py``): Python caches the bytecode of imported modules, never of the script
  it is given, and compiling the ~800-line client cost 8-25 ms on every event;
- ``lib/reins_engine/``: a copy of ``policy_server/engine/*.py``, imported by the hook only offline;
- ``config.json``: server URL, token file, agent, fail mode (keys the user added are kept);
- ``token``: the Reins token, mode 0600; ``spool/``: events decided offline (mode 0700).

The sources are read as data from a checkout or an installed wheel, or from the zipapp of the
one-line installer (which must hold ``hooks/reins_hook.py`` and ``policy_server/engine/*.py`` at
those paths). This module never imports the servers and never prints or logs the token.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HARNESSES = ("claude-code", "codex", "gemini")
FAIL_MODES = ("open", "closed")
HOOK_SOURCE = "hooks/reins_hook.py"
ENGINE_SOURCE = "policy_server/engine"
ENGINE_TARGET = "lib/reins_engine"
HOOK_TARGET = "lib/reins_hook.py"
# What the harness runs. It must never crash either: a missing or broken client library says so
# on stderr and answers nothing (the harness goes on, as it would on a crash); doctor reports it.
LAUNCHER = b"""import sys
sys.path.insert(0, __file__.rpartition("/")[0] + "/lib")
try:
    from reins_hook import main
except BaseException as exc:
    sys.stderr.write("reins hook: the hook client is missing or broken (%r); run reins doctor\\n" % exc)
    sys.stdout.write("{}\\n")
    sys.exit(0)
sys.exit(main())
"""
MIN_PYTHON = (3, 9)
BUNDLE_FORMAT = "reins-bundle/1"


class InstallError(Exception):
    """A problem the person running the installer can fix; the message says how."""


def default_home() -> Path:
    """``$REINS_HOME``, else ``~/.reins``."""
    env = os.environ.get("REINS_HOME")
    return Path(env).expanduser() if env else Path.home() / ".reins"


def hook_command(reins_home: Path, harness: str, python: str) -> list[str]:
    """The argv a harness runs for every event: ``<python> -I -S <home>/reins_hook.py <harness>``."""
    return [python, "-I", "-S", str(Path(reins_home).resolve() / "reins_hook.py"), harness]


def needs_home_env(reins_home: Path) -> bool:
    """True when the hook would not find ``reins_home`` by itself (it looks in ``~/.reins``)."""
    return Path(reins_home).resolve() != (Path.home() / ".reins").resolve()


def hook_shell_command(reins_home: Path, harness: str, python: str) -> str:
    """``hook_command`` as one shell command line, with ``REINS_HOME=...`` when it is needed."""
    line = shlex.join(hook_command(reins_home, harness, python))
    if needs_home_env(reins_home):
        line = f"REINS_HOME={shlex.quote(str(Path(reins_home).resolve()))} {line}"
    return line


def is_shim(path: str) -> bool:
    """True for a version-manager shim (a ``#!`` text file), which costs ~45 ms per hook call."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def resolve_python(python: str | None = None) -> str:
    """The absolute path of the real interpreter binary: never a pyenv/asdf shim, never a symlink.

    Without ``python``, the interpreter running the installer. Raises ``InstallError`` when the
    interpreter is missing or older than 3.9.
    """
    if python is None:
        return os.path.realpath(sys.executable)
    found = python if os.sep in python else shutil.which(python)
    if not found or not os.path.exists(found):
        raise InstallError(
            f"python interpreter {python!r} not found; pass --python /path/to/python3"
        )
    real = os.path.realpath(found)
    probe = (
        "import os, sys; print(os.path.realpath(sys.executable)); print(sys.version_info >= (3, 9))"
    )
    try:
        out = subprocess.run(
            [real, "-I", "-S", "-c", probe], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"cannot run python interpreter {real}: {exc}") from exc
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        raise InstallError(f"{real} is not a working python interpreter: {out.stderr.strip()}")
    if lines[1] != "True":
        raise InstallError(f"{real} is older than Python 3.9; the hook client needs 3.9 or newer")
    # A shim execs the real binary, which reports its own resolved path.
    return lines[0]


def _source_root() -> Path:
    return Path(__file__).resolve().parent.parent


def client_sources() -> dict[str, bytes]:
    """``{path under REINS_HOME: content}`` for the hook and the engine copy."""
    loader = getattr(sys.modules[__package__ or "installers"], "__loader__", None)
    archive = getattr(loader, "archive", None)
    if archive:  # running from the one-line installer's zipapp
        with zipfile.ZipFile(archive) as zipped:
            names = zipped.namelist()
            engine = sorted(
                n
                for n in names
                if n.startswith(ENGINE_SOURCE + "/") and n.endswith(".py") and n.count("/") == 2
            )
            if HOOK_SOURCE not in names or not engine:
                raise InstallError(f"{archive} lacks {HOOK_SOURCE} or {ENGINE_SOURCE}/; rebuild it")
            wanted = [HOOK_SOURCE, *engine]
            files = {n: zipped.read(n) for n in wanted}
    else:
        root = _source_root()
        hook = root / HOOK_SOURCE
        engine = sorted((root / ENGINE_SOURCE).glob("*.py"))
        if not hook.is_file() or not engine:
            raise InstallError(
                f"hook client sources not found under {root} ({HOOK_SOURCE}, {ENGINE_SOURCE}/*.py);"
                " reinstall Reins from a complete checkout or wheel"
            )
        files = {HOOK_SOURCE: hook.read_bytes()}
        files.update({f"{ENGINE_SOURCE}/{p.name}": p.read_bytes() for p in engine})
    sources = {
        (HOOK_TARGET if name == HOOK_SOURCE else f"{ENGINE_TARGET}/{name.rsplit('/', 1)[1]}"): data
        for name, data in files.items()
    }
    sources["reins_hook.py"] = LAUNCHER
    return sources


def fetch_bundle(reins_home: Path, server: str, token: str, timeout: float = 5.0) -> str:
    """Cache the server's policy bundle now, so that a machine that loses the server before its
    first hook event still decides offline; returns one report line (a warning on failure)."""
    import urllib.request  # only the installer pays for it, never the hook

    request = urllib.request.Request(
        server.rstrip("/") + "/v1/bundle", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body = answer.read()
        bundle = json.loads(body)
        if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"not a {BUNDLE_FORMAT} document")
    except (OSError, ValueError) as exc:
        return (
            f"WARNING: could not cache the policy bundle from {server} ({exc}); the hook fetches "
            "it at the first session, and until then a server outage leaves only the fail mode"
        )
    write_atomic(Path(reins_home).expanduser() / "bundle.json", body)
    return f"policy bundle cached (revision {bundle.get('revision', '?')})"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Replace ``path`` with ``data`` (same-folder temp file + rename); False when already equal."""
    path = Path(path)
    if path.is_file() and path.read_bytes() == data and (path.stat().st_mode & 0o777) == mode:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=str(path.parent))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def _merged_config(path: Path, updates: dict[str, object]) -> bytes:
    config: dict[str, object] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InstallError(f"{path} is not valid JSON ({exc}); fix or delete it") from exc
        if isinstance(loaded, dict):
            config.update(loaded)
    config.update(updates)
    return (json.dumps(config, indent=2, sort_keys=True) + "\n").encode()


def install_client(
    reins_home: Path,
    *,
    server: str,
    token: str,
    agent: str = "",
    fail_mode: str | None = None,
    python: str | None = None,
) -> None:
    """Lay out the hook client, its engine copy, config and token under ``reins_home`` (idempotent).

    ``fail_mode`` None leaves the choice to the hook (the agent's definition, else its default).
    ``python`` is checked to be a real interpreter >= 3.9 and recorded in ``config.json``.
    """
    if not server.startswith(("http://", "https://")):
        raise InstallError(f"--server {server!r} must be an http:// or https:// URL")
    if not token.strip() or any(c.isspace() for c in token.strip()):
        raise InstallError("--token must be a non-empty Reins token without spaces")
    if fail_mode is not None and fail_mode not in FAIL_MODES:
        raise InstallError(f"--fail-mode {fail_mode!r} must be one of {', '.join(FAIL_MODES)}")
    home = Path(reins_home).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    sources = client_sources()
    for name, data in sources.items():
        write_atomic(home / name, data)
    engine_dir = home / ENGINE_TARGET
    for stale in engine_dir.glob("*.py"):
        if f"{ENGINE_TARGET}/{stale.name}" not in sources:
            stale.unlink()
    (home / "spool").mkdir(exist_ok=True)
    os.chmod(home / "spool", 0o700)
    write_atomic(home / "token", token.strip().encode() + b"\n", mode=0o600)
    updates: dict[str, object] = {
        "server": server.rstrip("/"),
        "token_file": str(home / "token"),
        "agent": agent,
        "python": resolve_python(python),
    }
    if fail_mode is not None:
        updates["fail_mode"] = fail_mode
    write_atomic(home / "config.json", _merged_config(home / "config.json", updates))


def read_config(reins_home: Path) -> dict[str, object]:
    """The installed ``config.json`` (empty when absent or unreadable)."""
    try:
        loaded = json.loads((Path(reins_home) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def read_token(reins_home: Path) -> str:
    """The installed token, or '' when there is none."""
    config = read_config(reins_home)
    path = Path(str(config.get("token_file") or Path(reins_home) / "token"))
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def remove_client(reins_home: Path) -> None:
    """Remove what ``install_client`` laid out; a non-empty spool (unsent events) is kept."""
    home = Path(reins_home).expanduser()
    for name in ("reins_hook.py", "config.json", "token", "bundle.json"):
        if (home / name).exists():
            (home / name).unlink()
    shutil.rmtree(home / "lib", ignore_errors=True)
    spool = home / "spool"
    if spool.is_dir() and not any(spool.iterdir()):
        spool.rmdir()
    if home.is_dir() and not any(home.iterdir()):
        home.rmdir()
