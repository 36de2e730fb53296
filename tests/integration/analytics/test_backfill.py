"""The backfill from the Firestore outbox: loads what is missing, once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from common.analytics.__main__ import main
from common.analytics.backfill import backfill
from common.events import EventEnvelope
from common.outbox import Outbox
from tests.integration.analytics.conftest import Analytics, message, sample

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.integration

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 3, tzinfo=UTC)
TOPICS = {
    "customer": "customer-events",
    "payment": "payment-events",
    "kyc": "kyc-events",
}


def _unique_seed() -> list[dict[str, Any]]:
    by_id = {envelope["event_id"]: envelope for envelope in sample("seed_events.json")}
    return list(by_id.values())


def _stage(db: firestore.Client, envelopes: list[dict[str, Any]]) -> None:
    outbox = Outbox(db)
    batch = db.batch()
    for raw in envelopes:
        envelope = EventEnvelope.model_validate(raw)
        outbox.stage(batch, TOPICS[envelope.event_type.split(".")[0]], envelope)
    batch.commit()


@pytest.fixture
def outbox_seeded(firestore_client: firestore.Client) -> list[dict[str, Any]]:
    """The seed's events in the outbox, with one of a type nobody catalogued."""
    envelopes = _unique_seed()
    first = next(e for e in envelopes if e["event_id"] == "evt-cus-a-1")
    stray = dict(first, event_id="evt-stray", event_type="customer.mood.changed")
    _stage(firestore_client, [*envelopes, stray])
    return envelopes


def _in_range(envelopes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in envelopes if "2026-12-01" <= e["occurred_at"] < "2026-12-03"]


def _views(analytics: Analytics) -> dict[str, list[dict[str, Any]]]:
    return {
        "customers_current": analytics.view("customers_current", "customer_id"),
        "payments_current": analytics.view("payments_current", "payment_key"),
        "kyc_current": analytics.view("kyc_current", "customer_id"),
    }


def test_backfill_loads_the_range_skipping_what_is_loaded(
    analytics: Analytics,
    firestore_client: firestore.Client,
    outbox_seeded: list[dict[str, Any]],
) -> None:
    in_range = _in_range(outbox_seeded)
    live = in_range[0]
    analytics.loader.load_message(message(live))

    report = backfill(firestore_client, analytics.loader, START, END, progress=False)

    # The stray event occurred with cus_a's creation, inside the range.
    assert report.read == len(in_range) + 1
    assert report.already_loaded == 1
    assert report.inserted == len(in_range) - 1
    assert dict(report.rejected) == {"unknown_event_type": 1}
    loaded = analytics.query(
        "SELECT event_id, loaded_by FROM `{dataset}.customer_events` "
        "UNION ALL SELECT event_id, loaded_by FROM `{dataset}.payments` "
        "UNION ALL SELECT event_id, loaded_by FROM `{dataset}.kyc_checks`"
    )
    assert sorted(row["event_id"] for row in loaded) == sorted(
        e["event_id"] for e in in_range
    )
    by_loader = [row["event_id"] for row in loaded if row["loaded_by"] == "loader"]
    assert by_loader == [live["event_id"]]


def test_backfill_run_twice_changes_no_table_and_no_view(
    analytics: Analytics,
    firestore_client: firestore.Client,
    outbox_seeded: list[dict[str, Any]],
) -> None:
    backfill(firestore_client, analytics.loader, START, END, progress=False)
    counts = [analytics.count(t) for t in ("customer_events", "payments", "kyc_checks")]
    views = _views(analytics)

    again = backfill(firestore_client, analytics.loader, START, END, progress=False)

    assert again.inserted == 0
    assert again.already_loaded == len(_in_range(outbox_seeded))
    assert [
        analytics.count(t) for t in ("customer_events", "payments", "kyc_checks")
    ] == counts
    assert _views(analytics) == views
    assert views["customers_current"][0]["customer_id"] == "cus_a"


def test_backfill_command_prints_its_report(
    analytics: Analytics,
    firestore_client: firestore.Client,
    outbox_seeded: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["backfill-bigquery", "--from", "2026-12-01", "--to", "2026-12-03"]

    code = main([*argv, "--dataset", analytics.dataset, "--quiet"])

    assert code == 0
    inserted = len(_in_range(outbox_seeded))
    assert capsys.readouterr().out.strip() == (
        f"read {inserted + 1}; already loaded 0; inserted {inserted}; "
        "rejected unknown_event_type 1"
    )


def test_backfill_command_range_backwards_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["backfill-bigquery", "--from", "2026-12-03", "--to", "2026-12-01"]

    assert main(argv) == 2
    assert "--from must be before --to" in capsys.readouterr().err


def test_bootstrap_command_creates_a_dataset_then_changes_nothing(
    analytics: Analytics, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = f"{analytics.dataset}_cli"
    try:
        first = main(["bootstrap-bigquery", "--dataset", dataset])
        second = main(["bootstrap-bigquery", "--dataset", dataset])
    finally:
        analytics.client.delete_dataset(dataset, delete_contents=True)

    assert (first, second) == (0, 0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{dataset}: created {dataset}, customer_events, ")
    assert lines[1].startswith(f"{dataset}: created nothing; updated ")
