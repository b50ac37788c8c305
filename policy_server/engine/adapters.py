"""Harness payload -> :class:`Event`: the only place that knows each harness's stdin shape.

Claude Code, Codex and Gemini CLI send similar but not identical hook payloads (event names,
tool names, argument keys, MCP naming). Policies are written once against the normalised
:class:`Event`; everything harness-specific is translated here, from tables.

Payloads come from the agent's machine and may be malformed or hostile. Only a payload that is
not an object or has no ``hook_event_name`` is rejected (:class:`PayloadError`); every other odd
field (a number for a string, a null ``tool_input``) is coerced or ignored, never raised on.

Decisions beyond the plain field mapping, so reviewers can see them in one place:

- Gemini MCP tools arrive as ``mcp_<server>_<tool>``; a server name containing ``_`` makes that
  ambiguous. The payload's ``mcp_context`` (``server_name``/``tool_name``) is used when present;
  otherwise the server is the text up to the first ``_`` after ``mcp_``.
- Glob/Grep/LS ``paths`` hold the one directory (or file) searched: the tool's ``path`` (the
  cwd when absent) joined with the literal leading part of the pattern or glob filter, so
  ``pattern: "~/.ssh/id_*"`` yields ``~/.ssh`` and a fully literal ``pattern: ".env"`` yields
  ``<cwd>/.env``. Wildcard parts are never expanded (that would need the filesystem).
- A Bash command that feeds an ``apply_patch`` heredoc (older Codex models do this) gets the
  patch's paths and ``access="write"``, so path rules still apply; ``tool`` stays ``Bash``.
- Gemini ``web_fetch`` takes its URLs inside ``prompt``; they are extracted into ``urls``.
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .events import HARNESSES, TOOL_GROUPS, Event
from .patches import patch_paths
from .paths import normalize


class PayloadError(ValueError):
    """The hook payload cannot be read as an event at all (the caller answers fail-mode)."""


# Gemini CLI event names -> harness-neutral names; others pass through unchanged.
GEMINI_EVENTS = {
    "BeforeTool": "PreToolUse",
    "AfterTool": "PostToolUse",
    "BeforeAgent": "UserPromptSubmit",
    "AfterAgent": "Stop",
    "PreCompress": "PreCompact",
}

# Event names only Gemini CLI sends: enough to recognise its payloads without ``timestamp``.
GEMINI_ONLY_EVENTS = frozenset(GEMINI_EVENTS) | {"BeforeModel", "AfterModel", "BeforeToolSelection"}

# Harness tool name -> normalised tool name (events.TOOLS). Names not listed stay as they are.
TOOL_NAMES: Dict[str, Dict[str, str]] = {
    "claude-code": {"Agent": "Task"},
    "codex": {
        "exec_command": "Bash",
        "shell": "Bash",
        "shell_command": "Bash",
        "local_shell": "Bash",
        "apply_patch": "ApplyPatch",
        # Codex's experimental file tools, so they cannot bypass file rules.
        "read_file": "Read",
        "list_dir": "LS",
        "grep_files": "Grep",
    },
    "gemini": {
        "run_shell_command": "Bash",
        "read_file": "Read",
        "read_many_files": "Read",
        "write_file": "Write",
        "replace": "Edit",
        "edit": "Edit",
        "glob": "Glob",
        "search_file_content": "Grep",
        "grep": "Grep",
        "grep_search": "Grep",
        "list_directory": "LS",
        "ls": "LS",
        "web_fetch": "WebFetch",
        "google_web_search": "WebSearch",
        "write_todos": "TodoWrite",
    },
}

# Where each normalised file tool keeps its target, across the three harnesses' spellings.
_FILE_KEYS = ("file_path", "absolute_path", "path")
_NOTEBOOK_KEYS = ("notebook_path",)
_DIR_KEYS = ("path", "dir_path", "directory")
_LIST_KEYS = ("paths", "include")  # Gemini read_many_files (old and new spelling)
_PATCH_KEYS = ("command", "input", "patch", "value")
_COMMAND_KEYS = ("command", "cmd")
_WORKDIR_KEYS = ("workdir", "dir_path")  # Codex exec_command, Gemini run_shell_command

_READ_TOOLS = frozenset(TOOL_GROUPS["@read"])
_WRITE_TOOLS = frozenset(TOOL_GROUPS["@write"])

_GLOB_CHARS = frozenset("*?[{")
_HOME_MARKERS = ("/.claude/", "/.codex/", "/.gemini/")
_URL = re.compile(r"https?://[^\s<>\"'`)\]}]+", re.IGNORECASE)
_APPLY_PATCH_CALL = re.compile(r"(?:^|[\s;&|(/])apply_?patch\b")


def detect_harness(payload: Dict[str, Any]) -> str:
    """Which harness sent ``payload``, from the fields only it sends (see harnesses.md §0)."""
    _require_object(payload)
    if "turn_id" in payload:
        return "codex"
    name = payload.get("hook_event_name")
    if "timestamp" in payload or (isinstance(name, str) and name.strip() in GEMINI_ONLY_EVENTS):
        return "gemini"
    return "claude-code"


def to_event(
    payload: Dict[str, Any],
    harness: Optional[str] = None,
    context: Optional[Dict[str, Any]] = None,
) -> Event:
    """Normalise one hook payload. ``context`` holds server-side identity (agent, user, roles,
    run_id, host, harness_version, home) that a payload must never be able to claim."""
    _require_object(payload)
    raw_event = _require_event_name(payload)
    harness = _check_harness(harness) if harness else detect_harness(payload)
    ctx = context if isinstance(context, dict) else {}
    home = _home(ctx, payload)
    cwd = _text(payload.get("cwd"))
    cwd = normalize(cwd, "", home) if cwd else ""
    event = GEMINI_EVENTS.get(raw_event, raw_event) if harness == "gemini" else raw_event
    raw_tool = _text(payload.get("tool_name"))
    tool, mcp_server, mcp_tool = _tool(raw_tool, harness, payload.get("mcp_context"))
    tool_input = _tool_input(payload.get("tool_input"))
    command = _command(tool_input) if tool == "Bash" else None
    workdir = _first_text(tool_input, _WORKDIR_KEYS) if command is not None else ""
    raw_paths, access = _targets(tool, tool_input, command)
    prompt = payload.get("prompt") if event == "UserPromptSubmit" else None
    return Event(
        harness=harness,
        event=event,
        tool=tool,
        raw_tool=raw_tool,
        tool_input=tool_input,
        command=command,
        command_cwd=normalize(workdir, cwd, home) if workdir else cwd,
        paths=_normalize_all(raw_paths, cwd, home),
        access=access,
        urls=_urls(tool, tool_input),
        prompt=_text(prompt) if prompt is not None else None,
        mcp_server=mcp_server,
        mcp_tool=mcp_tool,
        cwd=cwd,
        home=home,
        session_id=_text(payload.get("session_id")),
        turn_id=_text(payload.get("turn_id")) or _text(payload.get("prompt_id")),
        tool_use_id=_text(payload.get("tool_use_id")),
        model=_text(payload.get("model")),
        agent=_text(ctx.get("agent")),
        user=_text(ctx.get("user")),
        roles=_strings(ctx.get("roles")),
        run_id=_text(ctx.get("run_id")),
        host=_text(ctx.get("host")),
        harness_version=_text(ctx.get("harness_version")),
        payload=payload,
    )


# --- validation -------------------------------------------------------------------------------


def _require_object(payload: Any) -> None:
    if not isinstance(payload, dict):
        raise PayloadError(
            f"hook payload must be a JSON object, got {type(payload).__name__}: "
            "pass the harness's hook stdin through unchanged"
        )


def _require_event_name(payload: Dict[str, Any]) -> str:
    name = payload.get("hook_event_name")
    if not isinstance(name, str) or not name.strip():
        raise PayloadError(
            "hook payload has no hook_event_name: is this stdin from a Claude Code, Codex or "
            "Gemini CLI hook?"
        )
    return name.strip()


def _check_harness(harness: Any) -> str:
    if harness not in HARNESSES:
        raise PayloadError(f"unknown harness {harness!r}: use one of {', '.join(HARNESSES)}")
    return harness


# --- coercion ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A payload scalar as text; containers and null become "" (ignored, not raised on)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return ""


def _strings(value: Any) -> Tuple[str, ...]:
    """A list of strings (or one string) as a tuple; other items are dropped."""
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (list, tuple)):
        return tuple(t for t in (_text(v) for v in value) if t)
    return ()


def _tool_input(value: Any) -> Dict[str, Any]:
    """Conditions index ``tool_input`` like a dict, so wrap anything else instead of failing."""
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    return {"value": value}


def _first_text(data: Dict[str, Any], keys: Iterable[str]) -> str:
    for key in keys:
        text = _text(data.get(key))
        if text:
            return text
    return ""


# --- identity ---------------------------------------------------------------------------------


def _home(context: Dict[str, Any], payload: Dict[str, Any]) -> str:
    """The developer's home: from the server's context, else from where the harness keeps its
    transcripts (``~/.claude``, ``~/.codex``, ``~/.gemini``), else unknown ("")."""
    home = _text(context.get("home"))
    if home:
        return home.rstrip("/") or "/"
    transcript = _text(payload.get("transcript_path"))
    found = [transcript.find(marker) for marker in _HOME_MARKERS if marker in transcript]
    return transcript[: min(found)] if found else ""


# --- tools ------------------------------------------------------------------------------------


def _tool(raw: str, harness: str, mcp_context: Any) -> Tuple[str, str, str]:
    """(normalised tool, mcp_server, mcp_tool) for the harness's tool name."""
    if raw.startswith("mcp__"):
        server, _, name = raw[len("mcp__") :].partition("__")
        return raw, server, name
    if harness == "gemini" and raw.startswith("mcp_"):
        return _gemini_mcp(raw, mcp_context)
    return TOOL_NAMES[harness].get(raw, raw), "", ""


def _gemini_mcp(raw: str, mcp_context: Any) -> Tuple[str, str, str]:
    """``mcp_<server>_<tool>``: trust ``mcp_context`` when given, else split at the first ``_``
    (so a server named ``my_srv`` is read as server ``my``, tool ``srv_<tool>``)."""
    if isinstance(mcp_context, dict):
        server = _text(mcp_context.get("server_name"))
        name = _text(mcp_context.get("tool_name"))
        if server and name:
            return f"mcp__{server}__{name}", server, name
    server, _, name = raw[len("mcp_") :].partition("_")
    if not server or not name:
        return raw, "", ""
    return f"mcp__{server}__{name}", server, name


def _command(tool_input: Dict[str, Any]) -> Optional[str]:
    """The shell command line; argv lists (Codex ``shell``/``local_shell``) are shell-quoted."""
    for key in _COMMAND_KEYS:
        value = tool_input.get(key)
        if isinstance(value, (list, tuple)):
            text = shlex.join(t for t in (_text(v) for v in value) if t)
        else:
            text = _text(value)
        if text:
            return text
    return None


# --- paths ------------------------------------------------------------------------------------


def _targets(
    tool: str, tool_input: Dict[str, Any], command: Optional[str]
) -> Tuple[List[str], str]:
    """(raw paths, access) for the tool; paths are still relative to cwd/home here."""
    extract = _PATH_EXTRACTORS.get(tool)
    if extract is not None:
        access = "read" if tool in _READ_TOOLS else "write" if tool in _WRITE_TOOLS else ""
        return extract(tool_input), access
    if command and "*** Begin Patch" in command and _APPLY_PATCH_CALL.search(command):
        return list(patch_paths(command)), "write"
    return [], ""


def _file_targets(tool_input: Dict[str, Any]) -> List[str]:
    """Read/Write/Edit/MultiEdit: the file path, under any harness's key; plus Gemini
    read_many_files' list of paths or globs (each scoped like a Glob pattern)."""
    found = [_text(tool_input.get(key)) for key in _FILE_KEYS]
    for key in _LIST_KEYS:
        found.extend(_scope("", item) for item in _strings(tool_input.get(key)))
    return found


def _notebook_targets(tool_input: Dict[str, Any]) -> List[str]:
    return [_text(tool_input.get(key)) for key in _NOTEBOOK_KEYS]


def _glob_targets(tool_input: Dict[str, Any]) -> List[str]:
    return [_scope(_first_text(tool_input, _DIR_KEYS), _text(tool_input.get("pattern")))]


def _grep_targets(tool_input: Dict[str, Any]) -> List[str]:
    """Grep's ``pattern`` is a regex over contents, not a path: only the glob filter scopes it."""
    return [
        _scope(_first_text(tool_input, _DIR_KEYS), _first_text(tool_input, ("glob", "include")))
    ]


def _ls_targets(tool_input: Dict[str, Any]) -> List[str]:
    return [_scope(_first_text(tool_input, _DIR_KEYS), "")]


def _patch_targets(tool_input: Dict[str, Any]) -> List[str]:
    for key in _PATCH_KEYS:
        value = tool_input.get(key)
        if isinstance(value, (list, tuple)):  # ["apply_patch", "<patch>"]
            value = "\n".join(_text(v) for v in value)
        paths = patch_paths(_text(value))
        if paths:
            return list(paths)
    return []


_PATH_EXTRACTORS: Dict[str, Callable[[Dict[str, Any]], List[str]]] = {
    "Read": _file_targets,
    "Write": _file_targets,
    "Edit": _file_targets,
    "MultiEdit": _file_targets,
    "NotebookEdit": _notebook_targets,
    "Glob": _glob_targets,
    "Grep": _grep_targets,
    "LS": _ls_targets,
    "ApplyPatch": _patch_targets,
}


def _scope(base: str, pattern: str) -> str:
    """The most specific path a search is known to touch: ``base`` (the cwd when empty) joined
    with the pattern's leading literal segments (all of it when it has no wildcard)."""
    literal: List[str] = []
    for segment in pattern.split("/") if pattern else ():
        if _GLOB_CHARS.intersection(segment):
            break
        literal.append(segment)
    prefix = "/".join(literal)
    if pattern.startswith("/") and not prefix:
        prefix = "/"
    if prefix.startswith(("/", "~", "$HOME", "${HOME}")):
        return prefix
    base = base or "."
    return f"{base.rstrip('/')}/{prefix}" if prefix else base


def _normalize_all(raw_paths: Iterable[str], cwd: str, home: str) -> Tuple[str, ...]:
    """Absolute, de-duplicated paths; empty entries and an unresolvable bare ``.`` dropped."""
    out: List[str] = []
    for raw in raw_paths:
        path = normalize(raw, cwd, home) if raw else ""
        if path and path != "." and path not in out:
            out.append(path)
    return tuple(out)


# --- urls -------------------------------------------------------------------------------------


def _urls(tool: str, tool_input: Dict[str, Any]) -> Tuple[str, ...]:
    """WebFetch targets: ``url`` (Claude Code) and URLs written into ``prompt`` (Gemini)."""
    if tool != "WebFetch":
        return ()
    found: List[str] = []
    url = _text(tool_input.get("url")).strip()
    if url:
        found.append(url)
    for match in _URL.findall(_text(tool_input.get("prompt"))):
        url = match.rstrip(".,;:!?")
        if url not in found:
            found.append(url)
    return tuple(found)
