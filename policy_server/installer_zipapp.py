"""Build ``reins-installer.pyz``: the installers, ``tomlkit`` and the hook client in one file.

The one-line installer (``installers/install.sh``) downloads this zipapp from the policy server
and runs it with the developer's own ``python3`` (>= 3.9), so a laptop needs no pip and no
checkout: ``python3 reins-installer.pyz install --all --server URL --token T``.

The archive holds, at these paths (``installers/client_files.py`` reads the last two as data):

- ``__main__.py``: runs ``python3 -m installers`` with the archive's own arguments;
- ``installers/*.py`` (the installers package), ``tomlkit/*`` (copied from site-packages);
- ``hooks/reins_hook.py`` and ``policy_server/engine/*.py`` (the hook client and the engine it
  uses offline; ``policy_server/__init__.py`` is deliberately absent: nothing imports the server).

The build is deterministic (sorted names, fixed timestamps, fixed permissions), so every server
instance serves byte-identical archives with the same ETag. This module reads source files and
builds bytes; it never imports what it packs and never embeds a token or any other secret.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Read as data, never imported: the server only packs these files (the installers import nothing
# of the servers, and the hook client nothing of the project).
REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "installers"
HOOK_FILE = "hooks/reins_hook.py"
ENGINE_DIR = "policy_server/engine"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
MAIN = '''\
"""Reins installer zipapp: ``python3 reins-installer.pyz install|uninstall|doctor ...``."""
import runpy
import sys

if sys.version_info < (3, 9):
    sys.exit("reins: Python 3.9 or newer is needed, this is " + sys.version.split()[0])
runpy.run_module("installers", run_name="__main__", alter_sys=True)
'''


class ZipappSourceError(RuntimeError):
    """A file the zipapp must contain is missing; the message names it and the fix."""


@dataclass(frozen=True)
class Zipapp:
    """A built archive and its strong validator."""

    data: bytes
    etag: str  # sha256 of ``data``, hex


def _tomlkit_dir() -> Path:
    spec = importlib.util.find_spec("tomlkit")
    if spec is None or not spec.submodule_search_locations:
        raise ZipappSourceError(
            "tomlkit is not installed next to the server; install it (pip install tomlkit)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def sources(repo_root: Path = REPO_ROOT) -> dict[str, Path]:
    """``{name inside the archive: file on disk}`` for everything but ``__main__.py``."""
    files: dict[str, Path] = {}
    for path in sorted((repo_root / "installers").glob("*.py")):
        files[f"installers/{path.name}"] = path
    tomlkit = _tomlkit_dir()
    for path in sorted(tomlkit.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".typed") and "__pycache__" not in path.parts:
            files[f"tomlkit/{path.relative_to(tomlkit).as_posix()}"] = path
    files[HOOK_FILE] = repo_root / HOOK_FILE
    engine = sorted((repo_root / ENGINE_DIR).glob("*.py"))
    for path in engine:
        files[f"{ENGINE_DIR}/{path.name}"] = path
    missing = [name for name, path in files.items() if not path.is_file()]
    missing += [] if engine else [f"{ENGINE_DIR}/*.py"]
    missing += [] if "installers/__main__.py" in files else ["installers/__main__.py"]
    if missing:
        raise ZipappSourceError(
            f"cannot build reins-installer.pyz: missing {', '.join(missing)} under {repo_root}; "
            "run the server from a complete Reins checkout"
        )
    return files


def fingerprint(files: dict[str, Path]) -> tuple:
    """Cheap change detector (names, sizes, mtimes) so a server rebuilds only after an upgrade."""
    return tuple((name, p.stat().st_size, p.stat().st_mtime_ns) for name, p in files.items())


def build(files: dict[str, Path] | None = None) -> Zipapp:
    """The archive bytes, identical for identical sources."""
    files = sources() if files is None else files
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _add(archive, "__main__.py", MAIN.encode())
        for name in sorted(files):
            _add(archive, name, files[name].read_bytes())
    data = buffer.getvalue()
    return Zipapp(data=data, etag=hashlib.sha256(data).hexdigest())


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def write(path: Path) -> Path:
    """Build and write the archive to ``path`` (for a release or an offline copy)."""
    path = Path(path)
    path.write_bytes(build().data)
    return path


if __name__ == "__main__":  # python -m installers.zipapp OUT.pyz
    import sys

    print(write(Path(sys.argv[1] if len(sys.argv) > 1 else "reins-installer.pyz")))
