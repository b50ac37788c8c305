"""The store agents a running server folds into its policy set, read through one connection.

``LivePolicies`` asks ``signature()`` about once a second (a cheap aggregate query) and calls
``agents()`` only when it changed, so an agent created through any server reaches every server's
rules within the policy check interval. Errors reading the store never break policy loading:
the file agents and rules still load, and the failure is logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from . import catalog
from .agent import Agent

log = logging.getLogger("reins.registry")


class AgentSource:
    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def agents(self) -> list[Agent]:
        with self._lock:
            try:
                return catalog.store_agents(self._connection())
            except sqlite3.Error as exc:
                log.error("cannot read the store's agents, using the policy files only: %s", exc)
                return []

    def signature(self) -> tuple[int, int]:
        with self._lock:
            try:
                return catalog.signature(self._connection())
            except sqlite3.Error:
                return (-1, -1)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn
