"""The CPU meter: time spent by a process group, and by the load itself."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.cpu import LOAD, CpuMeter, Usage, wait_until_quiet

pytestmark = pytest.mark.unit

BURN = (
    "import time\n"
    "end = time.process_time() + 0.3\n"
    "while time.process_time() < end: pass"
)


def test_measure_counts_a_process_group_and_the_load() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", f"import sys\n{BURN}\nsys.stdin.read()"],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    meter = CpuMeter({"burner": child.pid, "nobody": 2**22 + 7})
    try:
        with meter.measure() as usage:
            exec(BURN)  # noqa: S102 - the load's own CPU, measured below
            while meter.read()["burner"] < 0.25:
                pass
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)

    assert usage.seconds["burner"] >= 0.2
    assert usage.seconds[LOAD] >= 0.25
    assert usage.seconds["nobody"] == 0.0


def test_per_request_ms_divides_and_adds_up() -> None:
    usage = Usage({"function": 0.5, "firestore": 0.25})

    assert usage.per_request_ms(250) == {"function": 2.0, "firestore": 1.0, "all": 3.0}
    assert usage.per_request_ms(0)["all"] == 750.0


def test_wait_until_quiet_returns_after_one_quiet_window() -> None:
    meter = CpuMeter({"nobody": 2**22 + 7})

    waited = wait_until_quiet(meter, window_s=0.05, timeout_s=5.0)

    assert waited < 1.0


def test_wait_until_quiet_waits_out_a_busy_group_then_gives_up() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "while True: pass"], start_new_session=True
    )
    meter = CpuMeter({"burner": child.pid})
    try:
        waited = wait_until_quiet(meter, window_s=0.05, timeout_s=0.5)
    finally:
        child.kill()
        child.wait(timeout=10)

    assert waited >= 0.5
