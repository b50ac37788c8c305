"""Claude Code permission-rule strings as policy shorthand, with Claude Code's own meaning.

``Bash(git push:*)`` (prefix), ``Bash(npm run *)`` (wildcards), ``Read(./.env)``,
``Edit(src/**)`` (gitignore-style: ``//abs``, ``~/x``, ``/x`` and ``x`` relative to the
project), ``WebFetch(domain:example.com)``, ``mcp__github``, ``mcp__github__*``, bare tool names.
One difference makes Reins stricter: a Bash rule is checked against every simple command of
a compound command after unwrapping, so ``true && git push`` matches ``Bash(git push:*)``.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Optional, Pattern

from .events import Event
from .hosts import host_of
from .paths import Glob

_SHAPE = re.compile(r"\A([A-Za-z_][A-Za-z0-9_*-]*)(?:\((.*)\))?\Z", re.DOTALL)

# Claude Code applies Read rules to every tool that reads files, Edit rules to every editor.
_READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS"})
_EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit", "ApplyPatch"})


class PermissionRule:
    __slots__ = ("_glob", "_host", "_regex", "_tool_regex", "source", "specifier", "tool")

    def __init__(self, source: str) -> None:
        shape = _SHAPE.match(source.strip())
        if not shape:
            raise ValueError(
                f"not a Claude Code permission rule: {source!r}; write Tool or Tool(specifier), "
                "e.g. Bash(git push:*), Read(./.env), WebFetch(domain:example.com)"
            )
        self.source = source
        self.tool = shape.group(1)
        self.specifier: Optional[str] = shape.group(2)
        self._tool_regex: Optional[Pattern[str]] = None
        self._regex: Optional[Pattern[str]] = None
        self._glob: Optional[Glob] = None
        self._host: Optional[str] = None
        if self.tool.startswith("mcp__"):
            # ``mcp__server`` means every tool of the server.
            pattern = self.tool if self.tool.count("__") >= 2 else self.tool + "__*"
            self._tool_regex = re.compile(fnmatch.translate(pattern))
        spec = self.specifier
        if spec is None or spec in ("", "*"):
            self.specifier = None
        elif self.tool == "Bash":
            self._regex = _command_regex(spec)
        elif self.tool in ("Read", "Edit", "Write"):
            self._glob = Glob(_claude_path_to_glob(spec))
        elif self.tool == "WebFetch":
            if not spec.startswith("domain:"):
                raise ValueError(f"{source!r}: WebFetch rules take domain:<host>")
            self._host = spec[len("domain:") :].lower()

    def test(self, event: Event) -> bool:
        if not self._tool_matches(event.tool):
            return False
        if self.specifier is None:
            return True
        if self._regex is not None:
            from .conditions import commands_of  # late: conditions imports this module

            return any(self._regex.match(cmd.text) for cmd in commands_of(event))
        if self._glob is not None:
            return any(self._glob.match(p, event.cwd) for p in event.paths)
        if self._host is not None:
            return any(_host_within(host_of(u), self._host) for u in event.urls)
        return False

    def _tool_matches(self, tool: str) -> bool:
        if self._tool_regex is not None:
            return self._tool_regex.match(tool) is not None
        if self.tool == "Read":
            return tool in _READ_TOOLS
        if self.tool in ("Edit", "Write"):
            return tool in _EDIT_TOOLS
        return tool == self.tool

    def __repr__(self) -> str:
        return f"PermissionRule({self.source!r})"


def _command_regex(spec: str) -> Pattern[str]:
    """``git push:*`` -> prefix on a word boundary; ``*`` elsewhere -> any text."""
    if spec.endswith(":*"):
        return re.compile(re.escape(spec[:-2]) + r"(?:\s.*)?\Z", re.DOTALL)
    parts = [re.escape(p) for p in spec.split("*")]
    return re.compile(".*".join(parts) + r"\Z", re.DOTALL)


def _claude_path_to_glob(spec: str) -> str:
    if spec.startswith("//"):
        return spec[1:]
    if spec.startswith("~/") or spec.startswith("./"):
        return spec
    if spec.startswith("/"):
        return "." + spec  # relative to the project root, i.e. the cwd
    return "./" + spec if "/" in spec else spec


def _host_within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)
