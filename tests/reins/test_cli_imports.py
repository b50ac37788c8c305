"""Building the ``reins`` parser stays cheap: no verb may import its heavy modules at the top.

Every command pays for the parser (``reins policy eval`` runs once per hook event in CI
pipelines), and the gateway must monkey-patch before ``ssl`` is imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ssl", "requests", "urllib3", "urllib.request", "flask", "gevent", "sqlite_utils")


def test_building_the_parser_imports_nothing_heavy() -> None:
    code = (
        "import sys, json; import reins.cli as c; c.build_parser(); "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []
