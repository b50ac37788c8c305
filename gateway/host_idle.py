"""Whether this machine's idle CPUs halt at once, which costs every proxied request wake-ups.

A request through the gateway wakes an idle core four times (client → gateway → provider →
gateway → client). On a KVM guest whose ``cpuidle-haltpoll`` driver has polling switched off
(``guest_halt_poll_ns`` = 0) each of those wake-ups is a VM exit and an interrupt from the host:
measured on a 2-core VM, a bare proxy added ~0.16-0.21 ms that way and ~0.02 ms with the kernel's
default of 200000 ns. The gateway says so at start, once, with the fix; it never changes the
setting itself (that is the operator's call: polling spends idle CPU time).
"""

from __future__ import annotations

from pathlib import Path

DRIVER = Path("/sys/devices/system/cpu/cpuidle/current_driver")
HALT_POLL_NS = Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns")
DEFAULT_NS = 200_000  # the kernel's default for guest_halt_poll_ns


def read(path: Path) -> str | None:
    """The stripped text of a sysfs file, or None when it cannot be read."""
    try:
        return path.read_text().strip()
    except OSError:
        return None


def halt_poll_ns(driver: Path = DRIVER, poll: Path = HALT_POLL_NS) -> int | None:
    """``guest_halt_poll_ns`` when the ``haltpoll`` cpuidle driver runs, else None."""
    if read(driver) != "haltpoll":
        return None
    value = read(poll)
    return int(value) if value is not None and value.isdigit() else None


def warning(driver: Path = DRIVER, poll: Path = HALT_POLL_NS) -> str | None:
    """The start-up note for a host whose idle CPUs halt without polling, or None."""
    if halt_poll_ns(driver, poll) != 0:
        return None
    return (
        f"note: idle CPUs on this VM halt without polling ({poll} is 0), so each request pays "
        f"~0.15 ms of wake-ups; `echo {DEFAULT_NS} > {poll}` as root removes most of it at the "
        "cost of idle CPU time (README: Gateway host tuning)"
    )
