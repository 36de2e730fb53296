"""Integration tests of common.events publishing against the Pub/Sub emulator."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from google.cloud import pubsub_v1
from google.pubsub_v1.types import PubsubMessage

from common.clients import reset_clients
from common.events import EventEnvelope, EventPublisher, new_event
from common.settings import reset_settings_cache

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Topic:
    """A topic made for one test, with a pull subscription on it."""

    name: str
    subscription_path: str
    subscriber: pubsub_v1.SubscriberClient


@pytest.fixture
def topic(
    pubsub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Topic]:
    for name in ("GOOGLE_CLOUD_PROJECT", "PUBSUB_EMULATOR_HOST"):
        monkeypatch.setenv(name, pubsub_env[name])
    reset_settings_cache()
    reset_clients()

    project = pubsub_env["GOOGLE_CLOUD_PROJECT"]
    name = f"common-events-{uuid.uuid4().hex[:8]}"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topic_path = publisher.topic_path(project, name)
    subscription_path = subscriber.subscription_path(project, name)
    publisher.create_topic(name=topic_path)
    subscriber.create_subscription(name=subscription_path, topic=topic_path)

    yield Topic(name, subscription_path, subscriber)
    subscriber.delete_subscription(subscription=subscription_path)
    publisher.delete_topic(topic=topic_path)
    subscriber.close()
    reset_settings_cache()
    reset_clients()


def pull_one(topic: Topic, timeout_s: float = 10.0) -> PubsubMessage:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = topic.subscriber.pull(
            request={"subscription": topic.subscription_path, "max_messages": 1},
            timeout=5,
        )
        if response.received_messages:
            received = response.received_messages[0]
            topic.subscriber.acknowledge(
                request={
                    "subscription": topic.subscription_path,
                    "ack_ids": [received.ack_id],
                }
            )
            return received.message
    pytest.fail(f"no message arrived within {timeout_s} s")


def test_publish_message_carries_envelope_json_and_attributes(topic: Topic) -> None:
    envelope = new_event(
        "payment.charge.succeeded",
        "stripe:pi_1",
        {"amount_minor": 1250, "currency": "EUR"},
        event_id="evt_publish_1",
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )

    message_id = EventPublisher().publish(topic.name, envelope)

    message = pull_one(topic)
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
