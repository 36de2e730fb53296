"""Integration tests of common.events publishing against the Pub/Sub emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from common.events import EventEnvelope, EventPublisher, new_event
from tests.integration.common.conftest import Topic

pytestmark = pytest.mark.integration


def test_publish_message_carries_envelope_json_and_attributes(topic: Topic) -> None:
    envelope = new_event(
        "payment.charge.succeeded",
        "stripe:pi_1",
        {"amount_minor": 1250, "currency": "EUR"},
        event_id="evt_publish_1",
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )

    message_id = EventPublisher().publish(topic.name, envelope)

    message = topic.pull_one()
    assert message.message_id == message_id
    assert dict(message.attributes) == {
        "event_type": "payment.charge.succeeded",
        "event_id": "evt_publish_1",
        "schema_version": "1",
    }
    assert json.loads(message.data) == {
        "event_id": "evt_publish_1",
        "event_type": "payment.charge.succeeded",
        "occurred_at": "2026-01-02T03:04:05Z",
        "schema_version": 1,
        "subject": "stripe:pi_1",
        "data": {"amount_minor": 1250, "currency": "EUR"},
    }
    assert EventEnvelope.model_validate_json(message.data) == envelope
