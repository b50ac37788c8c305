"""The benchmark's halt-polling switch: it sets the value for the run and always puts it back."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT / "bench"))  # appended: bench modules never shadow the packages

import cpuidle  # noqa: E402


def test_the_value_is_set_for_the_block_and_restored_after_an_error(tmp_path) -> None:
    poll = tmp_path / "guest_halt_poll_ns"
    poll.write_text("0\n")
    with pytest.raises(KeyError), cpuidle.halt_poll(200_000, poll):
        assert poll.read_text() == "200000"
        raise KeyError("the run failed")
    assert poll.read_text().strip() == "0"


def test_none_leaves_the_machine_alone(tmp_path) -> None:
    poll = tmp_path / "absent"
    with cpuidle.halt_poll(None, poll):
        pass
    assert not poll.exists()


def test_a_machine_without_the_driver_or_a_bad_value_is_refused_clearly(tmp_path) -> None:
    absent = tmp_path / "absent"
    refused = pytest.raises(cpuidle.SettingError, match="does not run the cpuidle-haltpoll driver")
    with refused, cpuidle.halt_poll(200_000, absent):
        pass
    poll = tmp_path / "guest_halt_poll_ns"
    poll.write_text("0\n")
    with pytest.raises(cpuidle.SettingError, match="0 or more"), cpuidle.halt_poll(-1, poll):
        pass


def test_the_header_line_says_what_idle_cores_do(tmp_path) -> None:
    driver, poll = tmp_path / "driver", tmp_path / "poll"
    driver.write_text("haltpoll\n")
    poll.write_text("0\n")
    assert "halt at once" in cpuidle.describe(driver, poll)
    poll.write_text("200000\n")
    assert "guest_halt_poll_ns=200000" in cpuidle.describe(driver, poll)
    driver.write_text("intel_idle\n")
    assert cpuidle.describe(driver, poll) == "cpuidle driver intel_idle"
