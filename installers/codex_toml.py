"""Style-preserving edits of Codex TOML files (``config.toml``, managed ``requirements.toml``).

tomlkit keeps the user's comments, key order and formatting; only the Reins parts change:
``[hooks.state."<key>"]`` trust entries, the ``reins`` model provider and ``model_provider``, and
managed hook tables. Every change is remembered in the install record's ``extra`` so uninstall
removes exactly that (and leaves a value the user changed since alone).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from installers import hook_entries
from installers.client_files import InstallError
from installers.records import FileEdit

Mutation = Callable[[tomlkit.TOMLDocument], None]


def parse(text: str, path: object) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise InstallError(f"{path} is not valid TOML ({exc}); fix it and run again") from exc


def edit(path: Path, add: Mutation, remove: Mutation) -> FileEdit:
    """Install = remove then add (idempotent); uninstall = remove."""

    def apply(text: str) -> str:
        doc = parse(text, path)
        remove(doc)
        add(doc)
        return _same_tail(tomlkit.dumps(doc), text)

    def strip(text: str) -> str:
        doc = parse(text, path)
        remove(doc)
        return _same_tail(tomlkit.dumps(doc), text)

    return FileEdit(Path(path), apply, strip)


def _same_tail(result: str, original: str) -> str:
    """``result`` ending in as many newlines as ``original`` (tomlkit leaves the blank line that
    separated a removed table behind)."""
    if not result.strip():
        return ""
    tail = len(original) - len(original.rstrip("\n"))
    return result.rstrip("\n") + "\n" * max(tail, 1)


def _super_table(parent: dict, key: str) -> dict:
    if key not in parent:
        parent[key] = tomlkit.table(is_super_table=True)
    return parent[key]


def _drop_if_empty(parent: dict, key: str) -> None:
    if key in parent and hasattr(parent[key], "keys") and not parent[key]:
        del parent[key]


def set_trust(doc: tomlkit.TOMLDocument, hashes: dict, extra: dict) -> None:
    """``[hooks.state."<key>"] trusted_hash = "<hash>"`` for each Reins hook."""
    if not hashes:
        return
    state = _super_table(_super_table(doc, "hooks"), "state")
    for key, value in hashes.items():
        entry = tomlkit.table()
        entry["trusted_hash"] = value
        state[key] = entry
    extra.setdefault("trusted", {}).update(hashes)


def remove_trust(doc: tomlkit.TOMLDocument, extra: dict) -> None:
    """Drop the trust entries Reins wrote (only where the hash is still the one it wrote)."""
    state = doc.get("hooks", {}).get("state", {})
    for key, value in extra.pop("trusted", {}).items():
        if key in state and state[key].get("trusted_hash") == value:
            del state[key]
    if "hooks" in doc:
        _drop_if_empty(doc["hooks"], "state")
        _drop_if_empty(doc, "hooks")


def set_provider(doc: tomlkit.TOMLDocument, name: str, values: dict, extra: dict) -> None:
    """``model_provider = name`` and ``[model_providers.<name>]`` holding ``values``."""
    if "provider_before" not in extra:
        extra["provider_before"] = doc.get("model_provider")
    doc["model_provider"] = name
    table = tomlkit.table()
    for key, value in values.items():
        if isinstance(value, dict):
            inline = tomlkit.inline_table()
            inline.update(value)
            table[key] = inline
        else:
            table[key] = value
    _super_table(doc, "model_providers")[name] = table
    extra["provider"] = name


def remove_provider(doc: tomlkit.TOMLDocument, name: str, extra: dict) -> None:
    if extra.get("provider") != name:
        return
    providers = doc.get("model_providers", {})
    if name in providers:
        del providers[name]
    _drop_if_empty(doc, "model_providers")
    if doc.get("model_provider") == name:
        before = extra.get("provider_before")
        if before is None:
            del doc["model_provider"]
        else:
            doc["model_provider"] = before
    extra.pop("provider", None)
    extra.pop("provider_before", None)


def set_managed_hooks(doc: tomlkit.TOMLDocument, managed_dir: str, groups: dict) -> None:
    """``[hooks]`` with ``managed_dir`` (kept when the admin set one) and the Reins hook tables."""
    hooks = doc["hooks"] if "hooks" in doc else tomlkit.table()
    if "managed_dir" not in hooks:
        hooks["managed_dir"] = managed_dir
    for event, event_groups in groups.items():
        if event not in hooks:
            hooks[event] = tomlkit.aot()
        for group in event_groups:
            table = tomlkit.table()
            handlers = tomlkit.aot()
            for handler in group["hooks"]:
                item = tomlkit.table()
                item.update(handler)
                handlers.append(item)
            table["hooks"] = handlers
            hooks[event].append(table)
    if "hooks" not in doc:
        doc["hooks"] = hooks


def remove_managed_hooks(managed_dir: str) -> Mutation:
    """A mutation dropping the Reins hook tables (and ``managed_dir`` when it is Reins')."""

    def remove(doc: tomlkit.TOMLDocument) -> None:
        hooks = doc.get("hooks")
        if hooks is None:
            return
        for event in [k for k in hooks if isinstance(hooks[k], list)]:
            groups = hooks[event]
            for index in reversed(range(len(groups))):
                handlers = groups[index].get("hooks", [])
                for h_index in reversed(range(len(handlers))):
                    if hook_entries.is_reins_handler(handlers[h_index]):
                        del handlers[h_index]
                if not handlers:
                    del groups[index]
            if not groups:
                del hooks[event]
        if hooks.get("managed_dir") == managed_dir and len(hooks) == 1:
            del hooks["managed_dir"]
        _drop_if_empty(doc, "hooks")

    return remove
