"""Run one benchmark, or all: `python -m bench NAME|all` (names below)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bench import (
    bigquery_loader,
    cold_start,
    customers_api,
    payment_webhooks,
    platform_start,
)

BENCHMARKS: dict[str, Callable[[argparse.Namespace], int]] = {
    "cold_start": cold_start.main,
    "platform_start": platform_start.main,
    "payment_webhooks": payment_webhooks.main,
    "customers_api": customers_api.main,
    "bigquery_loader": bigquery_loader.main,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen benchmarks."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    bigquery_loader.add_arguments(parser)
    args = parser.parse_args(argv)

    names = list(BENCHMARKS) if args.name == "all" else [args.name]
    return max(BENCHMARKS[name](args) for name in names)


if __name__ == "__main__":
    sys.exit(main())
