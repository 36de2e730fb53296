"""The platform a benchmark runs on: only the functions it measures.

The machine's cores are shared by the load, the function, the bare handler
and the emulators. A platform serving the whole catalogue would add the
work of every consumer of the measured function's events (each published
payment event is pushed to a BigQuery loader, which writes to bqemulator),
which in production runs on instances of its own. Serving just the measured
functions keeps that work out of both sides of the comparison; every topic
and bucket is still created, so the function publishes as it does anywhere.
"""

from __future__ import annotations

from bench import BENCH_PORT_OFFSET
from emulators.config import ROOT, PlatformConfig
from emulators.platform import Platform
from triggers import load_catalog


def bench_platform(*names: str) -> Platform:
    """A platform on the benchmark ports serving only the functions named."""
    config = PlatformConfig(state_dir=ROOT / ".local" / "bench-platform")
    catalog = load_catalog(config.definitions)
    functions = tuple(catalog.function(name) for name in names)
    served = catalog.model_copy(update={"functions": functions})
    return Platform(config.with_offset(BENCH_PORT_OFFSET), catalog=served)
