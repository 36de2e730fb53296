"""Platform start: time until `python -m emulators up` is ready.

The baseline is the Auth emulator started alone, the slowest single service
and so the floor of a parallel start; the ratio shows what starting the rest
beside it costs. The aim is everything ready in under 15 s.
"""

from __future__ import annotations

import argparse
import shutil
import time

from bench import BENCH_PORT_OFFSET
from bench.report import median_ms, print_table, write_json
from emulators.config import ROOT, PlatformConfig
from emulators.platform import Platform
from emulators.services import emulator_processes

AIM_S = 15.0


def main(args: argparse.Namespace) -> int:
    """Start the platform and the Auth emulator alone, in turns."""
    config = PlatformConfig(state_dir=ROOT / ".local" / "bench-platform")
    config = config.with_offset(BENCH_PORT_OFFSET)
    whole, alone = [], []
    for _ in range(args.runs):
        whole.append(_start_platform(config))
        alone.append(_start_auth_alone(config))

    whole_ms, alone_ms = median_ms(whole), median_ms(alone)
    ratio = round(whole_ms / alone_ms, 2)
    verdict = "ok" if whole_ms / 1000 < AIM_S else "over"
    print_table(
        f"platform start, median of {args.runs}",
        ["measure", "ms", "baseline ms", "ratio", f"aim < {AIM_S:.0f} s"],
        [["up until ready", whole_ms, alone_ms, ratio, verdict]],
    )
    write_json(
        "platform_start",
        {
            "runs": args.runs,
            "aim_s": AIM_S,
            "platform_ms": whole_ms,
            "auth_alone_ms": alone_ms,
            "ratio": ratio,
            "platform_samples_ms": [round(s * 1000) for s in whole],
            "auth_alone_samples_ms": [round(s * 1000) for s in alone],
        },
    )
    return 0


def _start_platform(config: PlatformConfig) -> float:
    with Platform(config) as platform:
        assert platform.started_in_s is not None
        return platform.started_in_s


def _start_auth_alone(config: PlatformConfig) -> float:
    shutil.rmtree(config.state_dir / "auth", ignore_errors=True)
    auth = next(p for p in emulator_processes(config) if p.name == "auth")
    started = time.monotonic()
    auth.start()
    try:
        auth.wait_ready(started + config.ready_timeout_s)
        return time.monotonic() - started
    finally:
        auth.stop()
