"""The harness-neutral event every policy condition is evaluated against.

Adapters (``adapters.py``) build an :class:`Event` from a Claude Code, Codex or Gemini CLI
payload; conditions read its fields and never look at the raw payload's harness-specific keys.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

# Harness-neutral event names. Gemini CLI names are mapped onto these by the adapter.
EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PermissionRequest",
    "PostToolUse",
    "PostToolUseFailure",
    "Stop",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "Notification",
    "SessionEnd",
    "BeforeModel",
    "AfterModel",
    "BeforeToolSelection",
)

# Events that carry a tool call (tool, tool_input).
TOOL_EVENTS = ("PreToolUse", "PermissionRequest", "PostToolUse", "PostToolUseFailure")

# Normalised tool names (Claude Code's vocabulary). Codex and Gemini tools map onto these;
# MCP tools keep the ``mcp__<server>__<tool>`` form.
TOOLS = (
    "Bash",
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "ApplyPatch",
    "Glob",
    "Grep",
    "LS",
    "WebFetch",
    "WebSearch",
    "Task",
    "TodoWrite",
)

# Tool groups usable in a rule's ``tools`` list.
TOOL_GROUPS = {
    "@shell": ("Bash",),
    "@read": ("Read", "Glob", "Grep", "LS"),
    "@write": ("Write", "Edit", "MultiEdit", "NotebookEdit", "ApplyPatch"),
    "@file": (
        "Read",
        "Glob",
        "Grep",
        "LS",
        "Write",
        "Edit",
        "MultiEdit",
        "NotebookEdit",
        "ApplyPatch",
    ),
    "@web": ("WebFetch", "WebSearch"),
    "@mcp": ("mcp__*",),
}

HARNESSES = ("claude-code", "codex", "gemini")


class Event:
    """One hook event, normalised. Built by an adapter; read by conditions.

    ``paths`` are absolute, normalised paths the tool touches (file tools, apply_patch);
    ``access`` says how: ``read`` or ``write`` (``search`` for Glob/Grep/LS counts as read).
    Shell commands are analysed lazily by the evaluator and cached on ``analysis``.
    """

    __slots__ = (
        "access",
        "agent",
        "analysis",
        "command",
        "command_cwd",
        "cwd",
        "event",
        "harness",
        "harness_version",
        "home",
        "host",
        "mcp_server",
        "mcp_tool",
        "model",
        "paths",
        "payload",
        "prompt",
        "raw_tool",
        "roles",
        "run_id",
        "session_id",
        "tool",
        "tool_input",
        "tool_use_id",
        "turn_id",
        "urls",
        "user",
    )

    def __init__(
        self,
        harness: str,
        event: str,
        tool: str = "",
        raw_tool: str = "",
        tool_input: Optional[Dict[str, Any]] = None,
        command: Optional[str] = None,
        command_cwd: str = "",
        paths: Tuple[str, ...] = (),
        access: str = "",
        urls: Tuple[str, ...] = (),
        prompt: Optional[str] = None,
        mcp_server: str = "",
        mcp_tool: str = "",
        cwd: str = "",
        home: str = "",
        session_id: str = "",
        turn_id: str = "",
        tool_use_id: str = "",
        model: str = "",
        agent: str = "interactive",
        user: str = "",
        roles: Tuple[str, ...] = (),
        run_id: str = "",
        host: str = "",
        harness_version: str = "",
        payload: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.harness = harness
        self.event = event
        self.tool = tool
        self.raw_tool = raw_tool or tool
        self.tool_input = tool_input if tool_input is not None else {}
        self.command = command
        # Where the shell command runs when the tool says so (Codex ``workdir``, Gemini
        # ``dir_path``); ``cwd`` stays the session's directory, the root of ``./`` globs.
        self.command_cwd = command_cwd or cwd
        self.paths = paths
        self.access = access
        self.urls = urls
        self.prompt = prompt
        self.mcp_server = mcp_server
        self.mcp_tool = mcp_tool
        self.cwd = cwd
        self.home = home
        self.session_id = session_id
        self.turn_id = turn_id
        self.tool_use_id = tool_use_id
        self.model = model
        self.agent = agent or "interactive"
        self.user = user
        self.roles = roles
        self.run_id = run_id
        self.host = host
        self.harness_version = harness_version
        self.payload = payload if payload is not None else {}
        self.analysis = None

    def __repr__(self) -> str:
        return f"Event({self.harness} {self.event} {self.tool or '-'})"
