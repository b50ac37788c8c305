"""``python3 -m installers install|uninstall|doctor ...``: the same verbs as ``reins install ...``."""

from __future__ import annotations

import sys

from installers.cli import main

if __name__ == "__main__":
    sys.exit(main())
