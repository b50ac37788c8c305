"""The start-up note about idle CPUs that halt without polling: when it is given, and that it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import host_idle


def sysfs(tmp_path: Path, driver: str | None, poll: str | None) -> tuple[Path, Path]:
    paths = tmp_path / "current_driver", tmp_path / "guest_halt_poll_ns"
    for path, text in zip(paths, (driver, poll), strict=True):
        if text is not None:
            path.write_text(text + "\n")
    return paths


@pytest.mark.parametrize(
    ("driver", "poll", "expected"),
    [
        ("haltpoll", "0", 0),
        ("haltpoll", "200000", 200_000),
        ("acpi_idle", "0", None),  # another driver: the parameter does not apply
        ("haltpoll", None, None),
        (None, None, None),  # not Linux, or no cpuidle at all
        ("haltpoll", "garbage", None),
    ],
)
def test_halt_poll_ns_reads_only_the_haltpoll_driver(tmp_path, driver, poll, expected) -> None:
    assert host_idle.halt_poll_ns(*sysfs(tmp_path, driver, poll)) == expected


def test_the_note_names_the_file_the_value_and_the_cost(tmp_path) -> None:
    driver, poll = sysfs(tmp_path, "haltpoll", "0")
    note = host_idle.warning(driver, poll)
    assert note is not None
    assert f"{poll} is 0" in note and f"echo 200000 > {poll}" in note
    assert "idle CPU time" in note and "README" in note
    poll.write_text("200000\n")
    assert host_idle.warning(driver, poll) is None


def test_the_gateway_says_it_at_start_exactly_when_this_machine_halts_at_once(
    upstream_factory, gateway_factory, fakes
) -> None:
    gw = gateway_factory({"providers": {"anthropic": fakes.provider(upstream_factory())}})
    expected = host_idle.warning()
    if expected is None:
        assert "halt without polling" not in gw.output()
    else:
        assert gw.output().count(expected) == 1
