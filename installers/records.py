"""Apply file edits with a backup and an install record, and undo them.

Each install of a harness in a scope leaves ``$REINS_HOME/installed/<name>.json``: for every file
it touched, whether the file existed, where its backup is and the SHA-256 of what Reins wrote.
Uninstall restores the backup byte for byte when the file is unchanged since; when the user has
edited it since, only the Reins parts are removed (``FileEdit.remove``). Reinstalling keeps the
backup of the user's original, so install twice + uninstall once still gives the original back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from installers.client_files import InstallError, remove_client, write_atomic


@dataclass
class FileEdit:
    """How Reins changes one file: ``apply(old) -> new`` and ``remove(current) -> without Reins``.

    Both take and return text ('' for a missing file). ``mode`` is used for files Reins creates;
    ``private`` (the file will hold the token) also takes group/other access away from an
    existing file while Reins is installed (uninstall gives the old mode back).
    """

    path: Path
    apply: Callable[[str], str]
    remove: Callable[[str], str]
    mode: int = 0o644
    private: bool = False


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def record_name(harness: str, scope: str, project: Path) -> str:
    if scope != "project":
        return f"{harness}-{scope}"
    return f"{harness}-project-{hashlib.sha256(str(project).encode()).hexdigest()[:10]}"


def record_path(home: Path, name: str) -> Path:
    return Path(home) / "installed" / f"{name}.json"


def load(home: Path, name: str) -> dict | None:
    try:
        return json.loads(record_path(home, name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise InstallError(f"{record_path(home, name)} is corrupt ({exc}); remove it") from exc


def all_records(home: Path) -> list[dict]:
    """Every install recorded in ``home`` (none when the folder is absent)."""
    folder = Path(home) / "installed"
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InstallError(f"cannot read {path}: {exc}") from exc


def _missing_parents(path: Path) -> list[str]:
    missing = []
    for parent in path.parents:
        if parent.exists():
            break
        missing.append(str(parent))
    return missing


def _write(path: Path, text: str, mode: int) -> None:
    try:
        write_atomic(path, text.encode("utf-8"), mode)
    except PermissionError as exc:
        raise InstallError(
            f"cannot write {path}: permission denied (managed scope needs root)"
        ) from exc


def apply_edits(home: Path, name: str, edits: list[FileEdit], meta: dict) -> dict:
    """Apply ``edits`` in order, keeping backups of the originals; returns the saved record."""
    record = load(home, name) or {"files": {}, "extra": {}}
    record.update(meta)
    backups = Path(home) / "backups" / name
    for index, edit in enumerate(edits):
        path = Path(edit.path)
        old = _read(path)
        entry = record["files"].get(str(path))
        if entry is None or sha256(old) != entry["sha256"]:
            # First install, or edited by the user since: back up the file as it is without Reins.
            original = old
            if entry is not None and old is not None:
                # ``remove`` may consume what ``extra`` remembers; the install below needs it.
                remembered = copy.deepcopy(record["extra"])
                original = edit.remove(old.decode("utf-8")).encode("utf-8")
                record["extra"].clear()
                record["extra"].update(remembered)
            backup = backups / f"{index}-{path.name}"
            if original is not None:
                backups.mkdir(parents=True, exist_ok=True)
                write_atomic(backup, original, 0o600)
            entry = {
                "existed": original is not None,
                "backup": str(backup) if original is not None else None,
                "mode": (path.stat().st_mode & 0o777) if old is not None else edit.mode,
                "created_dirs": (entry or {}).get("created_dirs") or _missing_parents(path),
            }
        new = edit.apply(old.decode("utf-8") if old is not None else "")
        mode = entry["mode"] & 0o700 if edit.private else entry["mode"]
        if new == "" and not entry["existed"]:
            # Nothing of Reins left in a file Reins would create: don't leave an empty one.
            if path.exists():
                path.unlink()
            entry["sha256"] = None
        else:
            if old is None or new.encode("utf-8") != old or (path.stat().st_mode & 0o777) != mode:
                _write(path, new, mode)
            entry["sha256"] = sha256(new.encode("utf-8"))
        record["files"][str(path)] = entry
    record["installed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_atomic(record_path(home, name), (json.dumps(record, indent=2) + "\n").encode(), 0o600)
    return record


def undo_edits(home: Path, name: str, edits: list[FileEdit]) -> list[str]:
    """Undo an install; returns one line per file saying what was done."""
    record = load(home, name)
    if record is None:
        raise InstallError(f"nothing to uninstall: no Reins install recorded as {name!r} in {home}")
    by_path = {str(edit.path): edit for edit in edits}
    lines = []
    for path_text, entry in reversed(list(record["files"].items())):
        path = Path(path_text)
        current = _read(path)
        cleaned = None
        if current is not None and sha256(current) != entry["sha256"] and path_text in by_path:
            cleaned = by_path[path_text].remove(current.decode("utf-8"))
        if sha256(current) == entry["sha256"] or (cleaned == "" and not entry["existed"]):
            # Unchanged, or a file Reins created that holds nothing but Reins' even after edits.
            if entry["existed"]:
                write_atomic(path, Path(entry["backup"]).read_bytes(), entry["mode"])
                lines.append(f"restored {path} (byte for byte)")
            else:
                if path.exists():
                    path.unlink()
                    lines.append(f"removed {path} (Reins created it)")
                for folder in entry.get("created_dirs", []):
                    if Path(folder).is_dir() and not any(Path(folder).iterdir()):
                        Path(folder).rmdir()
        elif current is None:
            lines.append(f"skipped {path} (deleted since install)")
        elif cleaned is not None:
            text = current.decode("utf-8")
            if cleaned != text:
                _write(path, cleaned, path.stat().st_mode & 0o777)
            lines.append(f"cleaned {path} (edited since install: removed only the Reins entries)")
    record_path(home, name).unlink()
    shutil.rmtree(Path(home) / "backups" / name, ignore_errors=True)
    if not all_records(home):
        for folder in ("installed", "backups"):
            shutil.rmtree(Path(home) / folder, ignore_errors=True)
        remove_client(home)
        lines.append(f"removed the hook client from {home} (no harness uses it any more)")
    return lines
