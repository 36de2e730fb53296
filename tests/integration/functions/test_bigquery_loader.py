"""`bigquery_loader` served for real: each CloudEvent's outcome and answer."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from common.analytics.queries import query_rows
from emulators.platform import Platform

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).parents[1] / "analytics" / "samples"
FUNCTION = "bigquery_loader_payment_events"


def _envelope(**changes: Any) -> dict[str, Any]:
    seed = json.loads((SAMPLES / "seed_events.json").read_text())
    envelope = dict(next(e for e in seed if e["event_id"] == "evt-pay-4"))
    envelope["event_id"] = f"evt-{uuid.uuid4().hex}"
    return envelope | changes


def _deliver(platform: Platform, data: Any, message_id: str | None = None) -> int:
    function = platform.catalog.function(FUNCTION)  # type: ignore[union-attr]
    project = platform.config.project_id
    response = requests.post(
        platform.function_url(function),
        data=json.dumps(data),
        headers={
            "ce-specversion": "1.0",
            "ce-id": message_id or uuid.uuid4().hex,
            "ce-source": f"//pubsub.googleapis.com/projects/{project}/topics/"
            "payment-events",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-time": "2026-12-05T00:00:00Z",
            "content-type": "application/json",
        },
        timeout=60,
    )
    return response.status_code


def _published(envelope: dict[str, Any], message_id: str) -> dict[str, Any]:
    return {
        "message": {
            "data": base64.b64encode(json.dumps(envelope).encode()).decode(),
            "attributes": {"event_id": envelope["event_id"]},
            "messageId": message_id,
            "publishTime": "2026-12-05T00:00:00Z",
        }
    }


def _rows(sql: str, event_id: str) -> list[dict[str, Any]]:
    from common.clients import bigquery_client

    return query_rows(bigquery_client(), sql, {"id": event_id}, retry_timeout_s=5)


def test_bigquery_loader_valid_event_answers_200_and_writes_the_row(
    platform: Platform,
) -> None:
    envelope = _envelope()

    status = _deliver(platform, _published(envelope, uuid.uuid4().hex))

    assert status == 200
    rows = _rows(
        "SELECT payment_key, currency, amount_minor FROM `{dataset}.payments` "
        "WHERE event_id = @id",
        envelope["event_id"],
    )
    assert rows == [
        {"payment_key": "adyen:psp_4", "currency": "JPY", "amount_minor": 5000}
    ]


def test_bigquery_loader_invalid_event_answers_200_and_is_dead_lettered(
    platform: Platform,
) -> None:
    envelope = _envelope(schema_version=3)
    message_id = uuid.uuid4().hex

    status = _deliver(platform, _published(envelope, message_id))

    assert status == 200
    rows = _rows(
        "SELECT message_id, topic, code FROM `{dataset}.dead_letters` "
        "WHERE event_id = @id",
        envelope["event_id"],
    )
    assert rows == [
        {
            "message_id": message_id,
            "topic": "payment-events",
            "code": "unknown_schema_version",
        }
    ]
    assert (
        _rows(
            "SELECT 1 FROM `{dataset}.payments` WHERE event_id = @id",
            envelope["event_id"],
        )
        == []
    )


def test_bigquery_loader_not_a_pubsub_message_answers_200_and_writes_nothing(
    platform: Platform,
) -> None:
    message_id = uuid.uuid4().hex

    status = _deliver(platform, {"message": {"data": 7}}, message_id)

    assert status == 200
    rows = _rows(
        "SELECT 1 FROM `{dataset}.dead_letters` WHERE message_id = @id", message_id
    )
    assert rows == []
