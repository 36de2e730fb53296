"""CPU: where on the machine a benchmark's requests spend their time.

On a machine whose cores the load, the handlers and the emulators share,
throughput follows the CPU each request costs in every process it touches,
not only in the handler. A meter reads the user and system time of whole
process groups (each platform service runs in a session of its own, the
emulators' JVM and Node children included) and of this process, which
generates the load, before and after a run; the difference per request says
which process a ratio is made of.

Usage::

    meter = CpuMeter({"function": pid, "firestore": other_pid})
    with meter.measure() as usage:
        result = run_load(...)
    print(usage.per_request_ms(result.requests))
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import LoadResult, Request, run_load
from bench.report import print_table
from emulators.platform import Platform

PROC = Path("/proc")
LOAD = "load"
# The platform's services whose work a request to a function can cause.
SERVICES = ("firestore", "pubsub", "auth", "gateway")


@dataclass
class Usage:
    """CPU seconds by group over one measured run."""

    seconds: dict[str, float] = field(default_factory=dict)

    def per_request_ms(self, requests: int) -> dict[str, float]:
        """Return the milliseconds of CPU per request, by group and in all."""
        count = max(requests, 1)
        per = {name: round(1000 * s / count, 2) for name, s in self.seconds.items()}
        per["all"] = round(sum(per.values()), 2)
        return per


class CpuMeter:
    """Reads the CPU time of named process groups, and of this process."""

    def __init__(self, groups: Mapping[str, int]) -> None:
        self._groups = dict(groups)

    @classmethod
    def for_platform(cls, platform: Platform, **handlers: int) -> CpuMeter:
        """A meter over the platform's services and functions, and ``handlers``.

        ``handlers`` maps a name to the pid of a process that leads its own
        session, as every platform process and the bare handler do.
        """
        by_name = {p.name: p.process for p in platform.processes if p.process}
        groups = {name: by_name[name].pid for name in SERVICES if name in by_name}
        for function in platform.functions:
            served = by_name.get(f"function {function.name}")
            if served is not None:
                groups[function.name] = served.pid
        return cls(groups | handlers)

    @contextlib.contextmanager
    def measure(self) -> Iterator[Usage]:
        """Yield a usage that holds, once the block ends, what it cost."""
        usage = Usage()
        before = self.read()
        yield usage
        after = self.read()
        usage.seconds = {name: after[name] - before[name] for name in after}

    def read(self) -> dict[str, float]:
        """Return the CPU seconds used so far by each group and by this process."""
        by_group = dict.fromkeys(self._groups, 0.0)
        wanted = {pgid: name for name, pgid in self._groups.items()}
        for stat in PROC.glob("[0-9]*/stat"):
            fields = _stat_fields(stat)
            if fields is None:
                continue
            name = wanted.get(int(fields[2]))
            if name is not None:
                by_group[name] += _cpu_seconds(fields)
        times = os.times()
        by_group[LOAD] = times.user + times.system
        return by_group


def wait_until_quiet(
    meter: CpuMeter,
    *,
    busy_cores: float = 0.1,
    window_s: float = 1.0,
    timeout_s: float = 60.0,
) -> float:
    """Wait until the metered groups use under ``busy_cores`` over a window.

    Just after the platform starts, its JVMs compile and collect for many
    seconds; a measurement taken then pays for it. Returns the seconds
    waited; after ``timeout_s`` it returns anyway, as a busy machine is
    still a machine to measure on.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = meter.read()
        time.sleep(window_s)
        after = meter.read()
        used = sum(after[n] - before[n] for n in after if n != LOAD)
        if used / window_s < busy_cores:
            break
    return time.monotonic() - started


def _stat_fields(path: Path) -> list[str] | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    # The command name, in parentheses, may itself hold spaces.
    return text.rpartition(")")[2].split()


def _cpu_seconds(fields: list[str]) -> float:
    # After the name: state, ppid, pgrp, ..., utime (11), stime (12).
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class MeteredLoad:
    """One load run with the CPU per request it cost, by process group."""

    result: LoadResult
    cpu_ms: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready values."""
        return {**self.result.to_dict(), "cpu_ms_per_request": self.cpu_ms}


def metered_load(
    meter: CpuMeter,
    port: int,
    make: Callable[[int], Request],
    **options: Any,
) -> MeteredLoad:
    """Run ``run_load`` with ``options`` under the meter."""
    with meter.measure() as usage:
        result = run_load(port, make, **options)
    return MeteredLoad(result, usage.per_request_ms(result.requests))


def print_cpu_table(title: str, runs: Mapping[str, MeteredLoad]) -> None:
    """Print the CPU per request of each run, one column per process group."""
    groups = sorted({group for run in runs.values() for group in run.cpu_ms})
    groups.remove("all")
    rows = [
        [name, *(run.cpu_ms.get(group, 0.0) for group in groups), run.cpu_ms["all"]]
        for name, run in runs.items()
    ]
    print_table(title, ["run", *groups, "all"], rows)
