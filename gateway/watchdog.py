"""Deadlines for blocking socket operations without a timer per wait.

A gevent socket with a timeout creates, starts and cancels a ``Timeout`` on every wait: two or
three per proxied request, a measurable share of the gateway's budget. Instead the gateway's
sockets have no timeout; a blocking operation arms a deadline here (a dict store) and disarms it
after (a dict pop). One sweeper greenlet wakes every ``tick`` (a tenth of the shortest deadline
armed so far, between 5 ms and 1 s) and expires every connection past its deadline: the
connection is marked ``expired`` and its socket closed, which wakes the greenlet blocked on it
with an ``OSError`` that the caller reports as a timeout. A deadline fires at most a tick late.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import gevent

MIN_TICK_S = 0.005
MAX_TICK_S = 1.0


class Expirable(Protocol):
    def expire(self) -> None: ...


class Watchdog:
    """Armed connections and their deadlines; one per gateway process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.deadlines: dict[Expirable, float] = {}
        self.tick = MAX_TICK_S
        self.sweeper: gevent.Greenlet | None = None

    def arm(self, conn: Expirable, seconds: float) -> None:
        if seconds < self.tick * 10:
            self.tick = max(seconds / 10, MIN_TICK_S)
        self.deadlines[conn] = self.clock() + seconds
        if self.sweeper is None:  # started lazily: in the worker that arms, after any fork
            self.sweeper = gevent.spawn(self.run)

    def disarm(self, conn: Expirable) -> None:
        self.deadlines.pop(conn, None)

    def sweep(self) -> int:
        """Expire every connection past its deadline; how many there were."""
        now = self.clock()
        late = [conn for conn, deadline in self.deadlines.items() if deadline <= now]
        for conn in late:
            del self.deadlines[conn]
            conn.expire()
        return len(late)

    def run(self) -> None:
        while True:
            gevent.sleep(self.tick)
            self.sweep()

    def stop(self) -> None:
        if self.sweeper is not None:
            self.sweeper.kill(block=False)
            self.sweeper = None
