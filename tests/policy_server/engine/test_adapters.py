"""Adapters: Claude Code, Codex and Gemini CLI hook payloads -> one normalised Event.

Fixtures are copied from the observed payloads in shared/reference/harnesses.md.
"""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy_server.engine.adapters import (
    GEMINI_EVENTS,
    TOOL_NAMES,
    PayloadError,
    detect_harness,
    to_event,
)
from policy_server.engine.events import HARNESSES, TOOLS

HOME = "/home/dev"
PROJ = "/home/dev/proj"

CLAUDE_BASH = {
    "session_id": "abce88bd-0000",
    "transcript_path": f"{HOME}/.claude/projects/-home-dev-proj/abce88bd-0000.jsonl",
    "cwd": PROJ,
    "prompt_id": "f53d201c-0000",
    "permission_mode": "default",
    "effort": {"level": "high"},
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "echo hello > /tmp/x/proof.txt", "description": "write proof file"},
    "tool_use_id": "toolu_f9a29e8752544fd6aad03928",
}

CODEX_BASH = {
    "session_id": "01a2290b-df76",
    "turn_id": "01a2290b-df88",
    "transcript_path": f"{HOME}/.codex/sessions/2026/11/29/rollout-1.jsonl",
    "cwd": PROJ,
    "hook_event_name": "PreToolUse",
    "model": "gpt-fake",
    "permission_mode": "bypassPermissions",
    "tool_name": "Bash",
    "tool_input": {"command": "echo hello > /tmp/x/proof_codex.txt"},
    "tool_use_id": "call_0ed38439d2bb",
}

PATCH = (
    "*** Begin Patch\n*** Add File: notes/todo.md\n+- ship\n*** Update File: src/app.py\n"
    "@@\n-a\n+b\n*** Delete File: ~/.bashrc\n*** End Patch\n"
)
CODEX_APPLY_PATCH = dict(CODEX_BASH, tool_name="apply_patch", tool_input={"command": PATCH})

GEMINI_SHELL = {
    "session_id": "g-123",
    "transcript_path": f"{HOME}/.gemini/tmp/abc/chats/session-1.json",
    "cwd": PROJ,
    "hook_event_name": "BeforeTool",
    "timestamp": "2026-11-29T10:00:00.000Z",
    "tool_name": "run_shell_command",
    "tool_input": {"command": "rm -rf build", "description": "clean"},
}


def event_of(payload, harness=None, context=None):
    return to_event(copy.deepcopy(payload), harness, context)


# --- realistic payloads -------------------------------------------------------------------------


def test_claude_code_pretooluse_bash():
    ev = event_of(CLAUDE_BASH)
    assert (ev.harness, ev.event, ev.tool, ev.raw_tool) == (
        "claude-code",
        "PreToolUse",
        "Bash",
        "Bash",
    )
    assert ev.command == "echo hello > /tmp/x/proof.txt"
    assert (ev.session_id, ev.turn_id, ev.tool_use_id) == (
        "abce88bd-0000",
        "f53d201c-0000",
        "toolu_f9a29e8752544fd6aad03928",
    )
    assert (ev.cwd, ev.home) == (PROJ, HOME)
    assert ev.paths == () and ev.access == ""
    assert ev.tool_input == CLAUDE_BASH["tool_input"]
    assert ev.payload == CLAUDE_BASH


def test_codex_pretooluse_bash():
    ev = event_of(CODEX_BASH)
    assert (ev.harness, ev.event, ev.tool) == ("codex", "PreToolUse", "Bash")
    assert ev.command == "echo hello > /tmp/x/proof_codex.txt"
    assert (ev.turn_id, ev.model, ev.tool_use_id) == (
        "01a2290b-df88",
        "gpt-fake",
        "call_0ed38439d2bb",
    )
    assert ev.home == HOME


def test_codex_apply_patch_paths_are_normalised_writes():
    ev = event_of(CODEX_APPLY_PATCH)
    assert (ev.tool, ev.raw_tool, ev.access) == ("ApplyPatch", "apply_patch", "write")
    assert ev.paths == (f"{PROJ}/notes/todo.md", f"{PROJ}/src/app.py", f"{HOME}/.bashrc")
    assert ev.command is None


@pytest.mark.parametrize("key", ["input", "patch"])
def test_codex_apply_patch_other_input_keys(key):
    ev = event_of(dict(CODEX_APPLY_PATCH, tool_input={key: PATCH}))
    assert f"{PROJ}/src/app.py" in ev.paths


def test_codex_apply_patch_as_bare_string_input():
    ev = event_of(dict(CODEX_APPLY_PATCH, tool_input=PATCH))
    assert ev.tool_input == {"value": PATCH}
    assert f"{PROJ}/src/app.py" in ev.paths


def test_gemini_beforetool_run_shell_command():
    ev = event_of(GEMINI_SHELL)
    assert (ev.harness, ev.event, ev.tool, ev.raw_tool) == (
        "gemini",
        "PreToolUse",
        "Bash",
        "run_shell_command",
    )
    assert ev.command == "rm -rf build"
    assert ev.home == HOME


@pytest.mark.parametrize(
    "payload, harness",
    [
        (
            dict(CLAUDE_BASH, hook_event_name="UserPromptSubmit", prompt="fix the bug"),
            "claude-code",
        ),
        (dict(CODEX_BASH, hook_event_name="UserPromptSubmit", prompt="fix the bug"), "codex"),
        (dict(GEMINI_SHELL, hook_event_name="BeforeAgent", prompt="fix the bug"), "gemini"),
    ],
)
def test_user_prompt_submit(payload, harness):
    for key in ("tool_name", "tool_input", "tool_use_id"):
        payload.pop(key, None)
    ev = event_of(payload)
    assert (ev.harness, ev.event, ev.prompt, ev.tool) == (
        harness,
        "UserPromptSubmit",
        "fix the bug",
        "",
    )


@pytest.mark.parametrize("base", [CLAUDE_BASH, CODEX_BASH, GEMINI_SHELL])
def test_session_start(base):
    payload = {k: v for k, v in base.items() if not k.startswith("tool")}
    payload.update(hook_event_name="SessionStart", source="startup")
    ev = event_of(payload)
    assert (ev.event, ev.tool, ev.command, ev.prompt) == ("SessionStart", "", None, None)


def test_prompt_is_only_read_for_prompt_events():
    ev = event_of(dict(GEMINI_SHELL, hook_event_name="AfterAgent", prompt="p", prompt_response="r"))
    assert (ev.event, ev.prompt) == ("Stop", None)


@pytest.mark.parametrize(
    "base, tool_name, mcp_context, tool, server, name",
    [
        (
            CLAUDE_BASH,
            "mcp__github__create_issue",
            None,
            "mcp__github__create_issue",
            "github",
            "create_issue",
        ),
        (CODEX_BASH, "mcp__db__run_query", None, "mcp__db__run_query", "db", "run_query"),
        (
            GEMINI_SHELL,
            "mcp_github_create_issue",
            None,
            "mcp__github__create_issue",
            "github",
            "create_issue",
        ),
        (
            GEMINI_SHELL,
            "mcp__github__create_issue",
            None,
            "mcp__github__create_issue",
            "github",
            "create_issue",
        ),
        # Ambiguous: the server name holds "_"; mcp_context settles it.
        (
            GEMINI_SHELL,
            "mcp_my_db_query",
            {"server_name": "my_db", "tool_name": "query"},
            "mcp__my_db__query",
            "my_db",
            "query",
        ),
        (GEMINI_SHELL, "mcp_my_db_query", None, "mcp__my__db_query", "my", "db_query"),
        (GEMINI_SHELL, "mcp_lonely", None, "mcp_lonely", "", ""),
        (
            CLAUDE_BASH,
            "mcp__plugin_x_srv__do__it",
            None,
            "mcp__plugin_x_srv__do__it",
            "plugin_x_srv",
            "do__it",
        ),
        (CLAUDE_BASH, "mcp_single_underscore", None, "mcp_single_underscore", "", ""),
    ],
)
def test_mcp_tools(base, tool_name, mcp_context, tool, server, name):
    payload = dict(base, tool_name=tool_name, tool_input={"title": "x"})
    if mcp_context is not None:
        payload["mcp_context"] = mcp_context
    ev = event_of(payload)
    assert (ev.tool, ev.mcp_server, ev.mcp_tool, ev.raw_tool) == (tool, server, name, tool_name)
    assert ev.command is None and ev.paths == ()


@pytest.mark.parametrize(
    "base, tool_name, tool_input, expected",
    [
        (CLAUDE_BASH, "Read", {"file_path": f"{PROJ}/.env"}, f"{PROJ}/.env"),
        (CLAUDE_BASH, "Read", {"file_path": "src/../.env"}, f"{PROJ}/.env"),
        (CODEX_BASH, "read_file", {"file_path": "/etc/shadow"}, "/etc/shadow"),
        (GEMINI_SHELL, "read_file", {"file_path": "~/.ssh/id_rsa"}, f"{HOME}/.ssh/id_rsa"),
        (GEMINI_SHELL, "read_file", {"absolute_path": "/etc//passwd"}, "/etc/passwd"),
        (GEMINI_SHELL, "read_file", {"path": "./secrets.txt"}, f"{PROJ}/secrets.txt"),
    ],
)
def test_read_of_relative_and_absolute_paths(base, tool_name, tool_input, expected):
    ev = event_of(dict(base, tool_name=tool_name, tool_input=tool_input))
    assert (ev.tool, ev.access, ev.paths) == ("Read", "read", (expected,))


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "harness, raw, tool",
    [(h, raw, tool) for h, table in TOOL_NAMES.items() for raw, tool in table.items()]
    + [
        ("claude-code", name, name)
        for name in (*TOOLS, "PowerShell")
        if name not in ("ApplyPatch",)
    ]
    + [("codex", "Bash", "Bash"), ("gemini", "some_new_tool", "some_new_tool")],
)
def test_tool_names(harness, raw, tool):
    ev = event_of({"hook_event_name": "PreToolUse", "tool_name": raw, "tool_input": {}}, harness)
    assert (ev.tool, ev.raw_tool) == (tool, raw)


def test_every_mapped_tool_is_in_the_vocabulary():
    assert {t for table in TOOL_NAMES.values() for t in table.values()} <= set(TOOLS)


@pytest.mark.parametrize(
    "raw, neutral",
    [*GEMINI_EVENTS.items()]
    + [
        (name, name)
        for name in (
            "SessionStart",
            "SessionEnd",
            "Notification",
            "BeforeModel",
            "AfterModel",
            "BeforeToolSelection",
            "SomethingNew",
        )
    ],
)
def test_gemini_event_names(raw, neutral):
    assert event_of({"hook_event_name": raw, "timestamp": "t"}).event == neutral


@pytest.mark.parametrize("harness", ["claude-code", "codex"])
def test_other_harness_event_names_pass_through(harness):
    for name in ("PreToolUse", "PermissionRequest", "PostCompact", "SubagentStop", "Weird"):
        assert event_of({"hook_event_name": name}, harness).event == name


# --- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, harness",
    [
        (CLAUDE_BASH, "claude-code"),
        (CODEX_BASH, "codex"),
        (GEMINI_SHELL, "gemini"),
        ({"hook_event_name": "PreToolUse"}, "claude-code"),
        ({"hook_event_name": "PreToolUse", "turn_id": "t", "model": "m"}, "codex"),
        ({"hook_event_name": "PreToolUse", "timestamp": "2026-01-01T00:00:00Z"}, "gemini"),
        ({"hook_event_name": "BeforeTool"}, "gemini"),
        ({"hook_event_name": "PreCompress"}, "gemini"),
        ({"hook_event_name": "BeforeToolSelection"}, "gemini"),
        ({"hook_event_name": ["BeforeTool"]}, "claude-code"),
        ({}, "claude-code"),
    ],
)
def test_detect_harness(payload, harness):
    assert detect_harness(payload) == harness


def test_explicit_harness_wins_over_detection():
    assert event_of(CODEX_BASH, "claude-code").harness == "claude-code"
    assert event_of(CODEX_BASH, "").harness == "codex"


# --- commands ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool_name, tool_input, command",
    [
        ("exec_command", {"cmd": "ls -la"}, "ls -la"),
        ("exec_command", {"cmd": "ls", "workdir": "/tmp"}, "ls"),
        (
            "shell",
            {"command": ["bash", "-lc", "rm -rf 'a b'"]},
            "bash -lc 'rm -rf '\"'\"'a b'\"'\"''",
        ),
        ("local_shell", {"command": ["git", "status"]}, "git status"),
        ("shell_command", {"command": "echo hi"}, "echo hi"),
        ("Bash", {"command": 42}, "42"),
        ("Bash", {"command": None, "cmd": "pwd"}, "pwd"),
        ("Bash", {"command": []}, None),
        ("Bash", {"command": {"x": 1}}, None),
        ("Bash", {}, None),
    ],
)
def test_command_forms(tool_name, tool_input, command):
    ev = event_of(dict(CODEX_BASH, tool_name=tool_name, tool_input=tool_input))
    assert (ev.tool, ev.command) == ("Bash", command)


def test_command_is_only_set_for_bash():
    ev = event_of(
        dict(CLAUDE_BASH, tool_name="PowerShell", tool_input={"command": "Remove-Item x"})
    )
    assert (ev.tool, ev.command) == ("PowerShell", None)


def test_apply_patch_heredoc_in_a_shell_command_exposes_its_paths():
    command = f"apply_patch <<'EOF'\n{PATCH}EOF"
    ev = event_of(dict(CODEX_BASH, tool_input={"command": command}))
    assert (ev.tool, ev.access) == ("Bash", "write")
    assert f"{HOME}/.bashrc" in ev.paths
    argv = event_of(
        dict(CODEX_BASH, tool_name="shell", tool_input={"command": ["apply_patch", PATCH]})
    )
    assert f"{PROJ}/src/app.py" in argv.paths


def test_patch_text_without_apply_patch_call_is_not_a_write():
    ev = event_of(dict(CODEX_BASH, tool_input={"command": "grep -n '*** Begin Patch' notes.txt"}))
    assert (ev.paths, ev.access) == ((), "")


# --- file tools -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tool_name, tool_input, paths, access",
    [
        ("Write", {"file_path": "out.txt", "content": "x"}, (f"{PROJ}/out.txt",), "write"),
        (
            "Edit",
            {"file_path": "/etc/hosts", "old_string": "a", "new_string": "b"},
            ("/etc/hosts",),
            "write",
        ),
        ("MultiEdit", {"file_path": "$HOME/.zshrc", "edits": []}, (f"{HOME}/.zshrc",), "write"),
        (
            "NotebookEdit",
            {"notebook_path": "nb.ipynb", "new_source": ""},
            (f"{PROJ}/nb.ipynb",),
            "write",
        ),
        ("Glob", {"pattern": "**/*.py"}, (PROJ,), "read"),
        ("Glob", {"pattern": "src/**/*.ts", "path": "/srv/app"}, ("/srv/app/src",), "read"),
        ("Glob", {"pattern": ".env"}, (f"{PROJ}/.env",), "read"),
        ("Glob", {"pattern": "~/.ssh/id_*"}, (f"{HOME}/.ssh",), "read"),
        ("Glob", {"pattern": "/etc/*"}, ("/etc",), "read"),
        ("Glob", {"pattern": "/*"}, ("/",), "read"),
        ("Grep", {"pattern": "password", "path": "/etc"}, ("/etc",), "read"),
        ("Grep", {"pattern": "AKIA[0-9A-Z]+", "glob": ".env"}, (f"{PROJ}/.env",), "read"),
        ("Grep", {"pattern": "x", "path": "src", "glob": "*.{ts,tsx}"}, (f"{PROJ}/src",), "read"),
        ("LS", {"path": "~"}, (HOME,), "read"),
        ("LS", {}, (PROJ,), "read"),
        ("WebFetch", {"url": "https://example.com", "prompt": "x"}, (), ""),
        ("Task", {"prompt": "read ~/.ssh/id_rsa", "description": "x"}, (), ""),
        ("Agent", {"prompt": "x"}, (), ""),
        ("Read", {}, (), "read"),
    ],
)
def test_claude_file_tools(tool_name, tool_input, paths, access):
    ev = event_of(dict(CLAUDE_BASH, tool_name=tool_name, tool_input=tool_input))
    assert (ev.paths, ev.access) == (paths, access)


@pytest.mark.parametrize(
    "tool_name, tool_input, paths",
    [
        ("write_file", {"file_path": "a.txt", "content": ""}, (f"{PROJ}/a.txt",)),
        ("replace", {"file_path": "b.txt", "old_string": "", "new_string": ""}, (f"{PROJ}/b.txt",)),
        ("glob", {"pattern": "*.md", "dir_path": "docs"}, (f"{PROJ}/docs",)),
        (
            "search_file_content",
            {"pattern": "x", "dir_path": "/var/log", "include": "*.log"},
            ("/var/log",),
        ),
        ("list_directory", {"dir_path": "/root"}, ("/root",)),
        (
            "read_many_files",
            {"include": ["README.md", "docs/", "src/**/*.ts"]},
            (
                f"{PROJ}/README.md",
                f"{PROJ}/docs",
                f"{PROJ}/src",
            ),
        ),
        (
            "read_many_files",
            {"paths": ["~/.aws/credentials", 7, None]},
            (f"{HOME}/.aws/credentials", f"{PROJ}/7"),
        ),
    ],
)
def test_gemini_file_tools(tool_name, tool_input, paths):
    ev = event_of(dict(GEMINI_SHELL, tool_name=tool_name, tool_input=tool_input))
    assert ev.paths == paths


def test_paths_without_cwd_stay_relative_and_the_bare_search_root_is_dropped():
    ev = event_of(
        {
            "hook_event_name": "PreToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": "a/../b"},
        }
    )
    assert ev.paths == ("b",)
    ev = event_of(
        {"hook_event_name": "PreToolUse", "tool_name": "Glob", "tool_input": {"pattern": "*"}}
    )
    assert ev.paths == ()


# --- urls -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, urls",
    [
        (
            dict(
                CLAUDE_BASH,
                tool_name="WebFetch",
                tool_input={"url": "https://a.example/x", "prompt": "p"},
            ),
            ("https://a.example/x",),
        ),
        (dict(CLAUDE_BASH, tool_name="WebSearch", tool_input={"query": "https://b.example"}), ()),
        (
            dict(
                GEMINI_SHELL,
                tool_name="web_fetch",
                tool_input={"prompt": "Summarise https://c.example/a, and http://d.example."},
            ),
            ("https://c.example/a", "http://d.example"),
        ),
        (dict(CLAUDE_BASH, tool_name="WebFetch", tool_input={"url": 5}), ("5",)),
    ],
)
def test_urls(payload, urls):
    assert event_of(payload).urls == urls


# --- home and context ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "transcript, home",
    [
        ("/Users/ann/.claude/projects/x/s.jsonl", "/Users/ann"),
        ("/home/bob/.codex/sessions/2026/s.jsonl", "/home/bob"),
        ("/root/.gemini/tmp/x/chats/s.json", "/root"),
        ("/custom/codexhome/sessions/s.jsonl", ""),
        ("", ""),
        (None, ""),
        (17, ""),
    ],
)
def test_home_from_transcript_path(transcript, home):
    assert event_of({"hook_event_name": "Stop", "transcript_path": transcript}).home == home


def test_context_supplies_identity_and_home():
    context = {
        "agent": "nightly-ci",
        "user": "ann",
        "roles": ["dev", "admin"],
        "run_id": "run-1",
        "host": "box",
        "harness_version": "2.1.197",
        "home": "/Users/ann/",
    }
    ev = event_of(
        dict(CLAUDE_BASH, tool_name="Read", tool_input={"file_path": "~/.netrc"}), None, context
    )
    assert (ev.agent, ev.user, ev.roles, ev.run_id, ev.host, ev.harness_version) == (
        "nightly-ci",
        "ann",
        ("dev", "admin"),
        "run-1",
        "box",
        "2.1.197",
    )
    assert ev.home == "/Users/ann"
    assert ev.paths == ("/Users/ann/.netrc",)


def test_payload_cannot_claim_identity():
    ev = event_of(dict(CLAUDE_BASH, agent="admin-bot", user="root", roles=["admin"], home="/evil"))
    assert (ev.agent, ev.user, ev.roles, ev.home) == ("interactive", "", (), HOME)


def test_home_unknown_keeps_tilde_marker():
    ev = event_of(
        {
            "hook_event_name": "PreToolUse",
            "cwd": "/w",
            "tool_name": "Read",
            "tool_input": {"file_path": "~/.aws/credentials"},
        }
    )
    assert (ev.home, ev.paths) == ("", ("~/.aws/credentials",))


# --- errors and robustness ----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [None, [], "PreToolUse", 3, ["hook_event_name"]])
def test_non_object_payload(payload):
    with pytest.raises(PayloadError, match="JSON object"):
        to_event(payload)
    with pytest.raises(PayloadError):
        detect_harness(payload)


@pytest.mark.parametrize("name", [None, "", "  ", 5, ["PreToolUse"], {"a": 1}])
def test_missing_or_bad_event_name(name):
    payload = {"tool_name": "Bash"} if name is None else {"hook_event_name": name}
    with pytest.raises(PayloadError, match="hook_event_name"):
        to_event(payload)


@pytest.mark.parametrize("harness", ["claude", "Codex", "cursor", 1])
def test_unknown_harness(harness):
    with pytest.raises(PayloadError, match="claude-code, codex, gemini"):
        to_event({"hook_event_name": "PreToolUse"}, harness)


def test_payload_error_is_one_line_value_error():
    with pytest.raises(ValueError) as info:
        to_event({})
    assert "\n" not in str(info.value)


ODD_VALUES = [None, 0, 1.5, True, "", "x", [], [1, None, "a"], {}, {"k": [1]}, "\x00\udcff"]
FIELDS = [
    "tool_name",
    "tool_input",
    "cwd",
    "session_id",
    "turn_id",
    "prompt_id",
    "tool_use_id",
    "model",
    "transcript_path",
    "prompt",
    "mcp_context",
    "timestamp",
]


@pytest.mark.parametrize("harness", HARNESSES)
@pytest.mark.parametrize("field", FIELDS)
def test_odd_field_types_never_raise(harness, field):
    for value in ODD_VALUES:
        for event in ("PreToolUse", "UserPromptSubmit", "BeforeTool"):
            ev = to_event({"hook_event_name": event, "tool_name": "Read", field: value}, harness)
            assert isinstance(ev.tool_input, dict) and isinstance(ev.paths, tuple)
            assert all(
                isinstance(getattr(ev, a), str) for a in ("tool", "cwd", "session_id", "model")
            )


@pytest.mark.parametrize(
    "tool_name",
    [
        "Bash",
        "Read",
        "Glob",
        "Grep",
        "LS",
        "apply_patch",
        "WebFetch",
        "read_many_files",
        "NotebookEdit",
    ],
)
def test_odd_tool_input_values_never_raise(tool_name):
    for harness in HARNESSES:
        for key in (
            "command",
            "cmd",
            "file_path",
            "path",
            "pattern",
            "glob",
            "paths",
            "include",
            "url",
            "prompt",
            "input",
            "notebook_path",
        ):
            for value in ODD_VALUES:
                to_event(
                    {
                        "hook_event_name": "PreToolUse",
                        "cwd": PROJ,
                        "tool_name": tool_name,
                        "tool_input": {key: value},
                    },
                    harness,
                )


def test_odd_context_is_ignored():
    ev = to_event(
        {"hook_event_name": "Stop"},
        None,
        {"roles": "solo", "agent": None, "home": 3, "user": ["x"]},
    )
    assert (ev.roles, ev.agent, ev.home, ev.user) == (("solo",), "interactive", "3", "")
    assert to_event({"hook_event_name": "Stop"}, None, ["not", "a", "dict"]).agent == "interactive"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from([*FIELDS, "hook_event_name", "tool_response", "source"])
TOOL_INPUT_KEYS = st.sampled_from(
    [
        "command",
        "cmd",
        "file_path",
        "path",
        "pattern",
        "glob",
        "paths",
        "include",
        "url",
        "prompt",
        "patch",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    event=st.sampled_from(["PreToolUse", "BeforeTool", "UserPromptSubmit", "SessionStart", "X"]),
    tool=st.sampled_from([*TOOL_NAMES["gemini"], *TOOL_NAMES["codex"], "Read", "mcp_a_b", "mcp__a"])
    | st.text(max_size=12),
    extra=st.dictionaries(KEYS, JSON, max_size=5),
    tool_input=st.dictionaries(TOOL_INPUT_KEYS, JSON, max_size=4) | JSON,
    harness=st.sampled_from([None, *HARNESSES]),
)
def test_fuzzed_payloads_only_ever_raise_payload_error(event, tool, extra, tool_input, harness):
    payload = dict(extra, tool_name=tool, tool_input=tool_input)
    payload.setdefault("hook_event_name", event)
    try:
        ev = to_event(payload, harness)
    except PayloadError:
        return
    json.dumps(ev.paths)
    assert all(isinstance(p, str) and p for p in ev.paths)
    assert ev.command is None or isinstance(ev.command, str)


@pytest.mark.parametrize(
    ("harness", "payload_extra", "tool_input"),
    [
        ("codex", {"turn_id": "t", "model": "m"}, {"command": "rm -rf build", "workdir": "/srv"}),
        (
            "gemini",
            {"timestamp": "2026-11-29T00:00:00Z"},
            {"command": "rm -rf build", "dir_path": "/srv"},
        ),
    ],
)
def test_shell_commands_run_in_the_tools_working_directory(
    harness, payload_extra, tool_input
) -> None:
    from policy_server.engine.conditions import commands_of

    tool = "Bash" if harness == "codex" else "run_shell_command"
    event_name = "PreToolUse" if harness == "codex" else "BeforeTool"
    payload = {
        "hook_event_name": event_name,
        "cwd": "/home/dev/p",
        "tool_name": tool,
        "tool_input": tool_input,
        **payload_extra,
    }
    event = to_event(payload, harness)
    assert event.cwd == "/home/dev/p"
    assert commands_of(event)[0].paths == ("/srv/build",)
