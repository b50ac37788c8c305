"""The benchmark's view of how idle CPUs wake: printed in its header, and changeable for one run.

A request through a gateway pinned to its own core crosses cores four times, each time to an idle
core; on a KVM guest with halt polling off (``guest_halt_poll_ns`` = 0) each is a VM exit, paid
whatever the gateway is written in (``gateway/host_idle.py``). The benchmark prints the setting so
its numbers can be read, and ``--halt-poll-ns`` runs it under another value (root only; the old
value is put back when the run ends, however it ends). It never changes anything otherwise.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: never shadows packages

from gateway import host_idle


class SettingError(RuntimeError):
    """The halt-polling setting could not be changed; the message says what to do."""


def describe(driver: Path = host_idle.DRIVER, poll: Path = host_idle.HALT_POLL_NS) -> str:
    """One line: the cpuidle driver and, for ``haltpoll``, whether idle cores poll first."""
    ns = host_idle.halt_poll_ns(driver, poll)
    if ns is None:
        return f"cpuidle driver {host_idle.read(driver) or 'unknown'}"
    if ns == 0:
        return (
            "cpuidle driver haltpoll, guest_halt_poll_ns=0: idle cores halt at once, so every "
            "cross-core wake-up is a VM exit (see --halt-poll-ns)"
        )
    return f"cpuidle driver haltpoll, guest_halt_poll_ns={ns}: idle cores poll before halting"


@contextlib.contextmanager
def halt_poll(ns: int | None, poll: Path = host_idle.HALT_POLL_NS) -> Iterator[None]:
    """Run the block with ``guest_halt_poll_ns`` = ``ns`` (None: leave it) and restore it after."""
    if ns is None:
        yield
        return
    if ns < 0:
        raise SettingError("--halt-poll-ns must be 0 or more (nanoseconds)")
    old = host_idle.read(poll)
    if old is None:
        raise SettingError(
            f"--halt-poll-ns: {poll} does not exist; this machine does not run the "
            "cpuidle-haltpoll driver (a KVM guest with it loaded), so there is nothing to set"
        )
    try:
        poll.write_text(str(ns))
    except PermissionError as exc:
        raise SettingError(
            f"--halt-poll-ns: cannot write {poll} ({exc.strerror}); run as root"
        ) from exc
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            poll.write_text(old)
        if host_idle.read(poll) != old:
            print(
                f"warning: could not put {poll} back to {old}; run: echo {old} > {poll}", flush=True
            )
