"""Read and write a JSON settings file in the style its owner wrote it.

Key order is kept (dicts preserve it), and the indentation (spaces or tabs, how many), the
separators of a one-line file, non-ASCII characters and the final newline are detected from the
original text and reused. JSON has no comments; a file with ``//`` or ``/* */`` comments is
refused with a message rather than silently stripped. Pure: text in, text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from installers.client_files import InstallError
from installers.records import FileEdit


@dataclass(frozen=True)
class Style:
    indent: str | None = "  "
    item_separator: str = ","
    key_separator: str = ": "
    ensure_ascii: bool = False
    final_newline: bool = True


def detect_style(text: str) -> Style:
    """The formatting habits of ``text`` (defaults: 2 spaces and a final newline)."""
    if not text.strip():
        return Style()
    indent_match = re.search(r"[\{\[]\s*?\n([ \t]+)\S", text)
    compact = "\n" not in text.strip()
    return Style(
        indent=None if compact else (indent_match.group(1) if indent_match else "  "),
        item_separator=", " if compact and re.search(r",\s", text) else ",",
        key_separator=": " if re.search(r'":\s', text) or not re.search(r'":', text) else ":",
        ensure_ascii=bool(re.search(r"\\u[0-9a-fA-F]{4}", text)) and text.isascii(),
        final_newline=text.endswith("\n"),
    )


def parse(text: str, path: object) -> dict:
    """The JSON object in ``text`` ('' is ``{}``); a clear ``InstallError`` otherwise."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        hint = ""
        if re.search(r"^\s*(//|/\*)", text, re.M):
            hint = " It contains comments, which Reins would lose: remove them and run again."
        raise InstallError(f"{path} is not valid JSON ({exc}).{hint}") from exc
    if not isinstance(value, dict):
        raise InstallError(f"{path} must hold a JSON object, found {type(value).__name__}")
    return value


def render(value: dict, style: Style) -> str:
    """``value`` serialised in ``style``."""
    text = json.dumps(
        value,
        indent=style.indent,
        separators=(style.item_separator, style.key_separator),
        ensure_ascii=style.ensure_ascii,
    )
    return text + ("\n" if style.final_newline else "")


def edit(
    path: Path,
    add: Callable[[dict], dict],
    remove: Callable[[dict], dict],
    mode: int = 0o644,
    private: bool = False,
) -> FileEdit:
    """A ``FileEdit`` of a JSON file: install = ``add(remove(value))`` (so it is idempotent and
    drops what an earlier install with other options added), uninstall = ``remove(value)``."""

    def apply(text: str) -> str:
        try:
            return render(add(remove(parse(text, path))), detect_style(text))
        except ValueError as exc:  # a shape Reins cannot merge into: say where, change nothing
            raise InstallError(f"{path}: {exc}; fix that entry and run again") from exc

    def strip(text: str) -> str:
        return render(remove(parse(text, path)), detect_style(text))

    return FileEdit(path, apply, strip, mode, private)
