"""Backfill: rebuild the event tables from the Firestore outbox for a time range.

The outbox (common/outbox.py) keeps every published envelope for 30 days,
whatever its domain, keyed by event id, with its ``occurred_at``. The
backfill reads the entries whose events occurred in ``[start, end)``, skips
those whose event id a table already holds, and inserts the rest in batches
under their event ids. A second run finds every id and inserts nothing, so
neither the tables nor the views change.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import pydantic

from common.analytics.loader import EventLoader
from common.analytics.queries import query_rows
from common.analytics.rows import LOADED_BY_BACKFILL, TableRow, event_row
from common.analytics.schema import EVENT_TABLES
from common.errors import InvalidEventError, google_errors
from common.events import EventEnvelope
from common.logs import log_fields
from common.outbox import COLLECTION

if TYPE_CHECKING:
    from google.cloud import firestore

DEFAULT_BATCH_SIZE: Final = 500
PAGE_SIZE: Final = 1000

logger = logging.getLogger(__name__)


@dataclass
class BackfillReport:
    """What one backfill run found and did."""

    read: int = 0
    already_loaded: int = 0
    inserted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


def backfill(
    db: firestore.Client,
    loader: EventLoader,
    start: datetime,
    end: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    now: datetime | None = None,
) -> BackfillReport:
    """Load every outbox event that occurred in ``[start, end)`` and is missing.

    Events no retry can load (an unknown type or version, invalid data) are
    counted by code in the report and skipped; the outbox still holds them.

    Raises:
        UnavailableError: Firestore or BigQuery failed; running it again
            resumes where this run stopped, without duplicating.
    """
    from tqdm import tqdm

    now = now or datetime.now(UTC)
    report = BackfillReport()
    loaded = loaded_event_ids(loader, start, end)
    batch: list[TableRow] = []
    with tqdm(total=_count(db, start, end), unit="event", disable=not progress) as bar:
        for stored in _entries(db, start, end):
            bar.update(1)
            row = _row(stored, loaded, report, now)
            if row is not None:
                batch.append(row)
            if len(batch) >= batch_size:
                _flush(loader, batch, report)
        _flush(loader, batch, report)

    logger.info(
        "bigquery backfilled",
        extra=log_fields(
            read=report.read,
            already_loaded=report.already_loaded,
            inserted=report.inserted,
            rejected=dict(report.rejected),
        ),
    )
    return report


def loaded_event_ids(loader: EventLoader, start: datetime, end: datetime) -> set[str]:
    """Return the ids of the events in ``[start, end)`` that the tables hold."""
    ids: set[str] = set()
    for spec in EVENT_TABLES.values():
        rows = query_rows(
            loader.client,
            f"SELECT DISTINCT event_id FROM `{{dataset}}.{spec.name}` "  # noqa: S608
            "WHERE occurred_at >= @start AND occurred_at < @end",
            {"start": start, "end": end},
            dataset=loader.dataset,
        )
        ids.update(str(row["event_id"]) for row in rows)
    return ids


def _row(
    stored: dict[str, Any], loaded: set[str], report: BackfillReport, now: datetime
) -> TableRow | None:
    report.read += 1
    try:
        envelope = EventEnvelope.model_validate_json(stored.get("envelope") or "")
    except pydantic.ValidationError:
        report.rejected[InvalidEventError.code] += 1
        return None
    if envelope.event_id in loaded:
        report.already_loaded += 1
        return None

    try:
        row = event_row(envelope, loaded_at=now, loaded_by=LOADED_BY_BACKFILL)
    except InvalidEventError as exc:
        report.rejected[exc.code] += 1
        return None
    loaded.add(envelope.event_id)
    return row


def _flush(loader: EventLoader, batch: list[TableRow], report: BackfillReport) -> None:
    if batch:
        loader.insert(batch)
        report.inserted += len(batch)
        batch.clear()


def _query(db: firestore.Client, start: datetime, end: datetime) -> Any:
    from google.cloud.firestore_v1.base_query import FieldFilter

    return (
        db.collection(COLLECTION)
        .where(filter=FieldFilter("occurred_at", ">=", start))
        .where(filter=FieldFilter("occurred_at", "<", end))
        .order_by("occurred_at")
    )


def _count(db: firestore.Client, start: datetime, end: datetime) -> int:
    with google_errors():
        result = _query(db, start, end).count().get()
    return int(result[0][0].value)


def _entries(
    db: firestore.Client, start: datetime, end: datetime
) -> Iterator[dict[str, Any]]:
    # Pages with a cursor rather than one stream: a long stream outlives
    # the RPC deadline on a large range.
    cursor = None
    while True:
        query = _query(db, start, end).limit(PAGE_SIZE)
        if cursor is not None:
            query = query.start_after(cursor)
        with google_errors():
            page = list(query.stream())
        for snapshot in page:
            yield snapshot.to_dict() or {}
        if len(page) < PAGE_SIZE:
            return
        cursor = page[-1]
