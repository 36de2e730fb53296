"""`dead_letters` served for real: each dead-lettered message recorded once."""

from __future__ import annotations

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import requests

from emulators.platform import Platform

if TYPE_CHECKING:
    from google.cloud import firestore


def _deliver(platform: Platform, message_id: str, data: Any = None) -> int:
    function = platform.catalog.function("dead_letters")  # type: ignore[union-attr]
    body = data if data is not None else _published(platform, message_id)
    response = requests.post(
        platform.function_url(function),
        data=json.dumps(body),
        headers={
            "ce-specversion": "1.0",
            "ce-id": message_id,
            "ce-source": "//pubsub.googleapis.com/projects/demo-crm-aid/topics/"
            "dead-letters",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-time": "2026-12-01T10:00:00Z",
            "content-type": "application/json",
        },
        timeout=30,
    )
    return response.status_code


def _published(platform: Platform, message_id: str) -> dict[str, Any]:
    project = platform.config.project_id
    return {
        "subscription": f"projects/{project}/subscriptions/eventarc-dead-letters",
        "message": {
            "data": base64.b64encode(b'{"event_id": "e-1"}').decode(),
            "attributes": {
                "CloudPubSubDeadLetterSourceSubscription": "eventarc-bigquery-loader",
                "CloudPubSubDeadLetterSourceDeliveryCount": "5",
                "event_id": "e-1",
                "event_type": "payment.charge.succeeded",
            },
            "messageId": message_id,
            "publishTime": "2026-12-01T09:59:59.123Z",
        },
    }


def test_dead_letters_records_message_with_its_origin(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    message_id = uuid.uuid4().hex

    assert _deliver(platform, message_id) == 200

    record = firestore_client.collection("dead_letters").document(message_id).get()
    letter = record.to_dict() or {}
    assert letter["source_subscription"] == (
        f"projects/{platform.config.project_id}/subscriptions/eventarc-bigquery-loader"
    )
    assert letter["delivery_count"] == 5
    assert letter["event_id"] == "e-1"
    assert letter["event_type"] == "payment.charge.succeeded"
    assert letter["data"] == b'{"event_id": "e-1"}'
    assert letter["data_truncated"] is False
    assert letter["published_at"].isoformat().startswith("2026-12-01T09:59:59.123")
    assert letter["received_at"]


def test_dead_letters_concurrent_duplicates_record_one_document(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    message_id = uuid.uuid4().hex

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda _: _deliver(platform, message_id), range(6)))
    again = _deliver(platform, message_id)

    assert statuses == [200] * 6
    assert again == 200
    assert len(firestore_client.collection("dead_letters").get()) == 1


def test_dead_letters_malformed_event_is_acknowledged_and_writes_nothing(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    status = _deliver(platform, uuid.uuid4().hex, data={"message": {"data": 7}})

    assert status == 200
    assert firestore_client.collection("dead_letters").get() == []
