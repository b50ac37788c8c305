"""Starting ``reins`` stays cheap: no verb may import its heavy modules at the top.

Every command pays for its parser (``reins policy eval`` and ``reins policy lint`` run in CI and
pre-commit hooks), and the gateway must monkey-patch before ``ssl`` is imported. Each command
imports only the verb providers up to its own, and gets the same parser as from the full list.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reins.cli import VERB_PROVIDERS, build_parser

# Never needed to build the parser or print a verb's help: web, network, schema, YAML, store.
HEAVY = (
    "flask",
    "werkzeug",
    "gevent",
    "requests",
    "urllib3",
    "urllib.request",
    "ssl",
    "jsonschema",
    "sqlite_utils",
    "sqlite3",
    "yaml",
    "cryptography",
    "croniter",
)


def imported_after(statement: str) -> dict[str, list[str]]:
    """Run ``statement`` in a fresh interpreter; the HEAVY and provider modules it imported."""
    code = (
        "import contextlib, io, json, sys\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    try:\n        {statement}\n    except SystemExit:\n        pass\n"
        f"print(json.dumps({{'heavy': [m for m in {list(HEAVY)!r} if m in sys.modules], "
        f"'providers': [m for m in {list(VERB_PROVIDERS)!r} if m in sys.modules]}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def test_building_the_whole_parser_imports_nothing_heavy() -> None:
    found = imported_after("import reins.cli; reins.cli.build_parser()")
    assert found == {"heavy": [], "providers": list(VERB_PROVIDERS)}


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["policy", "eval", "--help"],
        ["policy", "lint", "--help"],
        ["audit", "export", "--help"],
        ["token", "create", "--help"],
        ["gateway", "--help"],
        ["doctor", "--help"],
    ],
    ids=" ".join,
)
def test_a_commands_help_imports_nothing_heavy(argv: list[str]) -> None:
    found = imported_after(f"import reins.cli; reins.cli.main({argv!r})")
    assert found["heavy"] == []


def test_policy_eval_imports_only_the_providers_up_to_its_own() -> None:
    found = imported_after("import reins.cli; reins.cli.main(['policy', 'eval', '--help'])")
    assert found["providers"] == ["reins.up", "policy_server.cli"]


def _verbs(parser) -> dict:
    return next(a for a in parser._actions if a.dest == "verb").choices


def test_each_verb_gets_the_same_parser_as_from_the_full_list() -> None:
    full = _verbs(build_parser())
    assert len(full) >= len(VERB_PROVIDERS)
    for verb, parser in full.items():
        partial = _verbs(build_parser([verb, "--help"]))
        assert verb in partial
        assert partial[verb].format_help() == parser.format_help(), verb


def test_without_a_known_verb_every_provider_registers() -> None:
    full = list(_verbs(build_parser()))
    for argv in ([], ["--help"], ["-h", "policy"], ["no-such-verb"]):
        assert list(_verbs(build_parser(argv))) == full, argv


def test_the_objects_a_command_built_are_frozen_before_the_exit_collection() -> None:
    # Runs after main()'s own exit handler (last registered, first run): by then the loaded
    # pack must be out of the collector's reach, or the exit walks it (~25 ms).
    code = (
        "import atexit, gc, os, sys\n"
        "atexit.register(lambda: os.write(1, b'\\nfrozen %d' % gc.get_freeze_count()))\n"
        "from reins.cli import main\n"
        "sys.exit(main(['policy', 'eval']))\n"
    )
    payload = {
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls"},
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    decision, frozen = done.stdout.rsplit("\nfrozen ", 1)
    assert json.loads(decision)["decision"] == "allow"
    assert int(frozen) > 10_000  # the compiled default pack alone is tens of thousands
