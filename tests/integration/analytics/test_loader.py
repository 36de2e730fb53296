"""The loader service against the BigQuery emulator: loads, rejects, raises."""

from __future__ import annotations

import base64
import copy
import socket
from typing import Any

import pytest

from common.analytics.loader import EventLoader
from common.errors import CrmError, UnavailableError
from common.events import PubSubMessage
from tests.integration.analytics.conftest import Analytics, message, sample

pytestmark = pytest.mark.integration


def _payment() -> dict[str, Any]:
    return dict(copy.deepcopy(sample("seed_events.json")[-1]))


def test_load_message_valid_event_writes_its_row(analytics: Analytics) -> None:
    envelope = _payment()

    outcome = analytics.loader.load_message(message(envelope))

    assert outcome == "loaded"
    rows = analytics.query(
        "SELECT event_id, payment_key, amount_minor, currency, loaded_by, "
        "JSON_VALUE(event, '$.data.status') AS status FROM `{dataset}.payments`"
    )
    assert rows == [
        {
            "event_id": envelope["event_id"],
            "payment_key": "stripe:pi_6",
            "amount_minor": 300,
            "currency": "EUR",
            "loaded_by": "loader",
            "status": "succeeded",
        }
    ]
    assert analytics.count("dead_letters") == 0


def test_load_message_delivered_twice_appears_once_in_views(
    analytics: Analytics,
) -> None:
    delivered = message(_payment())

    outcomes = [analytics.loader.load_message(delivered) for _ in range(2)]

    assert outcomes == ["loaded", "loaded"]
    assert analytics.count("payments") == 2
    volume = analytics.view("daily_payment_volume", "day")
    assert [(r["payments"], r["amount_minor"]) for r in volume] == [(1, 300)]
    assert len(analytics.view("payments_current", "payment_key")) == 1


def _with(change: dict[str, Any]) -> dict[str, Any]:
    envelope = _payment()
    for key, value in change.items():
        if key.startswith("data."):
            envelope["data"][key.removeprefix("data.")] = value
        else:
            envelope[key] = value
    return envelope


@pytest.mark.parametrize(
    ("envelope", "code", "reason"),
    [
        (_with({"event_type": "payment.charge.teleported"}), "unknown_event_type", ""),
        (_with({"schema_version": 4}), "unknown_schema_version", "found 4"),
        (_with({"data.amount_minor": "3.00"}), "invalid_event", "data.amount_minor"),
        (_with({"data.currency": "euro"}), "invalid_event", "data.currency"),
        (_with({"occurred_at": "yesterday"}), "invalid_event", "occurred_at"),
    ],
    ids=["type", "version", "amount", "currency", "envelope"],
)
def test_load_message_permanent_failure_is_recorded_in_dead_letters(
    analytics: Analytics, envelope: dict[str, Any], code: str, reason: str
) -> None:
    delivered = message(envelope)

    outcome = analytics.loader.load_message(delivered, topic="payment-events")

    assert outcome == code
    rows = analytics.query(
        "SELECT message_id, topic, event_id, code, reason, data_size "
        "FROM `{dataset}.dead_letters`"
    )
    assert len(rows) == 1
    assert rows[0]["message_id"] == delivered.message_id
    assert rows[0]["topic"] == "payment-events"
    assert rows[0]["event_id"] == envelope["event_id"]
    assert rows[0]["code"] == code
    assert reason in rows[0]["reason"]
    assert rows[0]["data_size"] == len(delivered.data)
    assert analytics.count("payments") == 0


def test_load_message_not_an_envelope_is_recorded_with_field_errors(
    analytics: Analytics,
) -> None:
    delivered = PubSubMessage.model_validate(
        {
            "data": base64.b64encode(b'{"event_id": "e-1"}').decode(),
            "messageId": "m-not-an-envelope",
            "publishTime": "2026-12-05T00:00:00Z",
        }
    )

    outcome = analytics.loader.load_message(delivered)

    assert outcome == "invalid_event"
    rows = analytics.query(
        "SELECT f.field AS field FROM `{dataset}.dead_letters`, "
        "UNNEST(field_errors) AS f ORDER BY field"
    )
    assert [r["field"] for r in rows] == [
        "event_type",
        "occurred_at",
        "schema_version",
        "subject",
    ]


def test_load_message_bigquery_unreachable_raises_retryable(
    analytics: Analytics,
) -> None:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = bigquery.Client(
        project=analytics.client.project,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=f"http://127.0.0.1:{closed_port}"),
    )
    loader = EventLoader(client, dataset=analytics.dataset, retry_deadline_s=1)

    with pytest.raises(UnavailableError) as caught:
        loader.load_message(message(_payment()))

    assert caught.value.retryable


def test_load_message_missing_table_raises_so_pubsub_retries(
    analytics: Analytics,
) -> None:
    loader = EventLoader(
        analytics.client, dataset="no_such_dataset", retry_deadline_s=2
    )

    with pytest.raises(CrmError):
        loader.load_message(message(_payment()))
