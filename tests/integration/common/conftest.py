"""Fixtures of the common/ integration tests: a Pub/Sub topic of their own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from google.cloud import pubsub_v1
from google.pubsub_v1.types import PubsubMessage

from common.clients import reset_clients
from common.settings import reset_settings_cache


@dataclass(frozen=True)
class Topic:
    """A topic made for one test, with a pull subscription on it."""

    name: str
    subscription_path: str
    subscriber: pubsub_v1.SubscriberClient

    def pull(self, wait_s: float = 2.0) -> list[PubsubMessage]:
        """Acknowledge and return every message that arrives within ``wait_s``."""
        messages: list[PubsubMessage] = []
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            response = self.subscriber.pull(
                request={"subscription": self.subscription_path, "max_messages": 50},
                timeout=5,
            )
            received = list(response.received_messages)
            if received:
                self.subscriber.acknowledge(
                    request={
                        "subscription": self.subscription_path,
                        "ack_ids": [item.ack_id for item in received],
                    }
                )
            messages += [item.message for item in received]
            time.sleep(0.1)
        return messages

    def pull_one(self, timeout_s: float = 10.0) -> PubsubMessage:
        """Acknowledge and return the first message, or fail after the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            messages = self.pull(wait_s=0.5)
            if messages:
                assert len(messages) == 1, f"expected one message, {len(messages)}"
                return messages[0]
        pytest.fail(f"no message arrived within {timeout_s} s")


@pytest.fixture
def topic(
    pubsub_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Topic]:
    """A fresh topic and pull subscription, with the Pub/Sub emulator in use."""
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
