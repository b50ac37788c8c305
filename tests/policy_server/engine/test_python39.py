"""The engine must import and decide on the hook client's oldest Python (3.9)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CANDIDATES = [str(Path.home() / ".pyenv/versions/3.9.18/bin/python"), "python3.9"]


def python39() -> str | None:
    """A working Python 3.9 (a version-manager shim may exist and still fail to run)."""
    for candidate in CANDIDATES:
        path = candidate if Path(candidate).exists() else shutil.which(candidate)
        if not path:
            continue
        probe = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 9)":
            return path
    return None


@pytest.mark.skipif(python39() is None, reason="no Python 3.9 interpreter on this machine")
def test_engine_runs_on_python_39() -> None:
    script = (
        "import pkgutil, importlib, policy_server.engine as e\n"
        "for m in pkgutil.iter_modules(e.__path__): importlib.import_module('policy_server.engine.' + m.name)\n"
        "from policy_server.engine.compiler import Rule\n"
        "from policy_server.engine.evaluator import PolicySet\n"
        "from policy_server.engine.adapters import to_event\n"
        "rule = Rule({'id': 'r', 'decision': 'deny', 'reason': 'no', 'tools': 'Bash',"
        " 'when': {'command': {'program': 'rm', 'flags': {'all': ['-r', '-f']}}}})\n"
        "ev = to_event({'hook_event_name': 'PreToolUse', 'tool_name': 'Bash', 'cwd': '/p',"
        " 'tool_input': {'command': 'sudo rm -fr /'}})\n"
        "print(PolicySet([rule]).evaluate(ev).decision)\n"
    )
    out = subprocess.run(
        [python39(), "-E", "-s", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "deny"
