"""Analytics commands: `bootstrap-bigquery` and `backfill-bigquery`.

    python -m common.analytics bootstrap-bigquery [--dataset D] [--location L]
    python -m common.analytics backfill-bigquery --from 2026-12-01 --to 2026-12-02

Both read GOOGLE_CLOUD_PROJECT and the emulator variables like the functions.
Exit codes: 0 done, 2 an unsafe schema change or a bad argument, 3 a
dependency unavailable (running again is safe).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from common.analytics.schema import DATASET
from common.errors import CrmError

# BigQuery's rule for dataset ids.
_DATASET_RE = re.compile(r"[A-Za-z0-9_]{1,1024}")
EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "bootstrap-bigquery":
            return _bootstrap(args)
        return _backfill(args)
    except CrmError as exc:
        print(f"error: {exc.code}: {exc.detail}", file=sys.stderr)
        # An operator runs this: the wrapped error says what BigQuery or
        # Firestore answered, which a client of a function never sees.
        if exc.__cause__ is not None:
            cause = exc.__cause__
            print(f"cause: {type(cause).__name__}: {cause}", file=sys.stderr)
        return EXIT_UNAVAILABLE if exc.retryable else EXIT_REFUSED


def _bootstrap(args: argparse.Namespace) -> int:
    from common.analytics.bootstrap import bootstrap
    from common.clients import bigquery_client

    report = bootstrap(bigquery_client(), dataset=args.dataset, location=args.location)
    print(
        f"{args.dataset}: created {', '.join(report.created) or 'nothing'}; "
        f"updated {', '.join(report.updated) or 'nothing'}; "
        f"{len(report.unchanged)} unchanged"
    )
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from common.analytics.backfill import backfill
    from common.analytics.loader import EventLoader
    from common.clients import firestore_client

    if args.start >= args.end:
        print("error: --from must be before --to", file=sys.stderr)
        return EXIT_REFUSED

    loader = EventLoader(dataset=args.dataset)
    report = backfill(
        firestore_client(),
        loader,
        args.start,
        args.end,
        batch_size=args.batch_size,
        progress=not args.quiet,
    )
    rejected = ", ".join(f"{code} {n}" for code, n in sorted(report.rejected.items()))
    print(
        f"read {report.read}; already loaded {report.already_loaded}; "
        f"inserted {report.inserted}; rejected {rejected or 'none'}"
    )
    return 0


def _dataset(value: str) -> str:
    if not _DATASET_RE.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"expected letters, digits and underscores, found {value!r}"
        )
    return value


def _instant(value: str) -> datetime:
    """Parse 2026-12-01 or 2026-12-01T10:00:00Z; without a zone, UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time, found {value!r}"
        ) from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m common.analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    boot = commands.add_parser(
        "bootstrap-bigquery", help="create or update the dataset, tables and views"
    )
    boot.add_argument("--location", help="dataset location when it is created")
    fill = commands.add_parser(
        "backfill-bigquery", help="load outbox events of a time range that are missing"
    )
    fill.add_argument("--from", dest="start", type=_instant, required=True)
    fill.add_argument("--to", dest="end", type=_instant, required=True)
    fill.add_argument("--batch-size", type=int, default=500)
    fill.add_argument("--quiet", action="store_true", help="no progress bar")
    for command in (boot, fill):
        command.add_argument("--dataset", type=_dataset, default=DATASET)
    return parser


if __name__ == "__main__":
    sys.exit(main())
