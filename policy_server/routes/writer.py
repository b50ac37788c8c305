"""``writer()``: a store connection of its own for the registry and budget routes.

Their changes are rare, so each request opens and closes one; the audit log keeps its own
writer (``audit/writer.py``), and other reads go through ``state().reader``.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from .. import store
from ..app import state


def writer() -> closing[sqlite3.Connection]:
    """A new connection to the server's store, closed when the ``with`` block ends."""
    return closing(store.connect(state().db_path))
