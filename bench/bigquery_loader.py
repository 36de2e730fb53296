"""BigQuery loader: events published through the platform until the views show them.

N events (10,000 by default; `--count`) are published on the three event
topics, a third each, and timed until every one is visible in the views
(`customers_current`, `kyc_current`, `payments_current`; each event has an
entity of its own, so each adds one row). The baseline is the same rows
written by a plain script with one `insert_rows_json` call per event into a
dataset of its own, timed the same way. The aim is the loader at 70% or more
of the plain script's events per second. Each side runs on a freshly
started platform.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bench import BENCH_PORT_OFFSET
from bench.report import print_table, write_json
from common.events import EventEnvelope, new_event
from emulators.config import DATASET, ROOT, PlatformConfig
from emulators.platform import Platform

if TYPE_CHECKING:
    from google.cloud import bigquery

AIM = 0.7
DEFAULT_COUNT = 10_000
VISIBLE_TIMEOUT_S = 1800.0
POLL_EVERY_S = 1.0
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
HASH = "0" * 64


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this benchmark's options to the command line."""
    parser.add_argument(
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help="events to load (bigquery_loader; default 10,000)",
    )


def main(args: argparse.Namespace) -> int:
    """Load the events both ways and print the ratio."""
    count = getattr(args, "count", DEFAULT_COUNT)
    run = uuid.uuid4().hex[:8]
    events = list(_events(run, count))
    # Each side on a platform of its own: the emulator slows down as it
    # holds more rows, which would favour whichever side ran first.
    config = PlatformConfig(state_dir=ROOT / ".local" / "bench-platform")
    config = config.with_offset(BENCH_PORT_OFFSET)
    platform = Platform(config)
    with platform, _environment(platform):
        loader_s = _through_platform(events, f"bench-{run}-")
    platform = Platform(config)
    with platform, _environment(platform):
        plain_s = _plain_script(events, run)

    loader_eps, plain_eps = count / loader_s, count / plain_s
    ratio = round(loader_eps / plain_eps, 2)
    print_table(
        f"bigquery_loader, {count} events until visible in the views",
        ["path", "seconds", "events/s", "ratio", f"aim >= {AIM}"],
        [
            ["platform loader", round(loader_s, 1), round(loader_eps, 1), ratio,
             "ok" if ratio >= AIM else "under"],
            ["plain insert_rows_json", round(plain_s, 1), round(plain_eps, 1), 1.0, ""],
        ],
    )  # fmt: skip
    write_json(
        "bigquery_loader",
        {
            "count": count,
            "aim": AIM,
            "loader_s": round(loader_s, 2),
            "plain_s": round(plain_s, 2),
            "loader_events_per_s": round(loader_eps, 1),
            "plain_events_per_s": round(plain_eps, 1),
            "ratio": ratio,
        },
    )
    return 0


def _events(run: str, count: int) -> Iterator[tuple[str, EventEnvelope]]:
    for index in range(count):
        at = T0 + timedelta(seconds=index)
        kind = index % 3
        if kind == 0:
            yield "customer-events", _customer(f"bench-{run}-c{index}", at)
        elif kind == 1:
            yield "kyc-events", _document(f"bench-{run}-k{index}", at)
        else:
            yield "payment-events", _payment(f"bench-{run}-p{index}", index, at)


def _customer(customer: str, at: datetime) -> EventEnvelope:
    stamp = at.isoformat()
    data = {
        "customer_id": customer,
        "status": "pending_kyc",
        "country": "DE",
        "address_country": "DE",
        "terms_version": "v1",
        "email_hash": HASH,
        "phone_hash": HASH,
        "created_at": stamp,
        "updated_at": stamp,
    }
    return new_event("customer.profile.created", customer, data, occurred_at=at)


def _document(customer: str, at: datetime) -> EventEnvelope:
    data = {
        "customer_id": customer,
        "document_id": f"doc-{customer}",
        "document_type": "passport",
        "status": "awaiting_upload",
        "announced_at": at.isoformat(),
    }
    return new_event("kyc.document.announced", customer, data, occurred_at=at)


def _payment(reference: str, index: int, at: datetime) -> EventEnvelope:
    currency = ("EUR", "GBP", "JPY")[index % 3]
    key = f"stripe:{reference}"
    data = {
        "payment_key": key,
        "provider": "stripe",
        "provider_reference": reference,
        "customer_id": None,
        "amount_minor": 100 + index,
        "currency": currency,
        "status": "succeeded",
        "refunded_minor": 0,
        "provider_event_id": f"evt_{reference}",
        "provider_event_type": "payment_intent.succeeded",
        "updated_at": at.isoformat(),
    }
    return new_event("payment.charge.succeeded", key, data, occurred_at=at)


def _through_platform(events: list[tuple[str, EventEnvelope]], prefix: str) -> float:
    from google.cloud import pubsub_v1

    from common.clients import bigquery_client

    publisher = pubsub_v1.PublisherClient()
    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    started = time.perf_counter()
    pending = [
        publisher.publish(
            publisher.topic_path(project, topic),
            envelope.to_json_bytes(),
            event_type=envelope.event_type,
            event_id=envelope.event_id,
            schema_version=str(envelope.schema_version),
        )
        for topic, envelope in events
    ]
    futures.wait(pending, timeout=300)
    _wait_until_visible(bigquery_client(), DATASET, prefix, len(events))
    return time.perf_counter() - started


def _plain_script(events: list[tuple[str, EventEnvelope]], run: str) -> float:
    from google.cloud.bigquery import DEFAULT_RETRY

    from common.analytics.bootstrap import bootstrap
    from common.analytics.rows import LOADED_BY_LOADER, event_row
    from common.clients import bigquery_client

    client = bigquery_client()
    dataset = f"bench_plain_{run}"
    bootstrap(client, dataset=dataset)
    rows = [
        event_row(envelope, loaded_at=datetime.now(UTC), loaded_by=LOADED_BY_LOADER)
        for _, envelope in events
    ]
    retry = DEFAULT_RETRY.with_timeout(30)
    started = time.perf_counter()
    for row in rows:
        table = f"{client.project}.{dataset}.{row.table.name}"
        errors = client.insert_rows_json(
            table, [row.values], row_ids=[row.row_id], retry=retry, timeout=10
        )
        if errors:
            raise SystemExit(f"bigquery_loader: plain insert refused: {errors[:1]}")
    _wait_until_visible(client, dataset, f"bench-{run}-", len(events))
    return time.perf_counter() - started


def _wait_until_visible(
    client: bigquery.Client, dataset: str, prefix: str, expected: int
) -> None:
    # The tables' row counts first: computing the views on every poll would
    # slow the emulator down while the loader is still writing.
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    for probe in (_written, _visible):
        while probe(client, dataset, prefix) < expected:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"bigquery_loader: not visible in {VISIBLE_TIMEOUT_S} s"
                )
            time.sleep(POLL_EVERY_S)


def _written(client: bigquery.Client, dataset: str, prefix: str) -> int:
    from common.analytics.queries import query_rows

    sql = (
        "SELECT (SELECT COUNT(*) FROM `{dataset}.customer_events` "
        "WHERE STARTS_WITH(customer_id, @prefix)) + "
        "(SELECT COUNT(*) FROM `{dataset}.kyc_checks` "
        "WHERE STARTS_WITH(customer_id, @prefix)) + "
        "(SELECT COUNT(*) FROM `{dataset}.payments` "
        "WHERE STARTS_WITH(provider_reference, @prefix)) AS written"
    )
    rows = query_rows(client, sql, {"prefix": prefix}, dataset=dataset)
    return int(rows[0]["written"])


def _visible(client: bigquery.Client, dataset: str, prefix: str) -> int:
    from common.analytics.queries import query_rows

    sql = (
        "SELECT (SELECT COUNT(*) FROM `{dataset}.customers_current` "
        "WHERE STARTS_WITH(customer_id, @prefix)) + "
        "(SELECT COUNT(*) FROM `{dataset}.kyc_current` "
        "WHERE STARTS_WITH(customer_id, @prefix)) + "
        "(SELECT COUNT(*) FROM `{dataset}.payments_current` "
        "WHERE STARTS_WITH(provider_reference, @prefix)) AS visible"
    )
    rows = query_rows(client, sql, {"prefix": prefix}, dataset=dataset)
    return int(rows[0]["visible"])


@contextmanager
def _environment(platform: Platform) -> Iterator[None]:
    from common.clients import reset_clients
    from common.settings import reset_settings_cache

    saved = dict(os.environ)
    os.environ.update(platform.environment())
    reset_settings_cache()
    reset_clients()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_settings_cache()
        reset_clients()


__all__ = ["add_arguments", "main"]
