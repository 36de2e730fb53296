"""Customer events: each change published once, none lost to a crash."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from google.cloud import pubsub_v1

from common.customers import profiles
from common.customers.models import CustomerCreate, CustomerProfile
from common.errors import UnavailableError
from common.events import EventEnvelope
from common.idempotency import IdempotencyStore
from common.outbox import Outbox
from common.secrets import reset_secret_source
from emulators.platform import Platform
from tests.integration.customers.conftest import Api, Users, customer_body
from tests.support import eventually

if TYPE_CHECKING:
    from google.cloud import firestore


@pytest.fixture
def customer_events(platform: Platform) -> Iterator[Any]:
    """A pull subscription on customer-events, for this test only."""
    project = platform.config.project_id
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(project, f"test-{uuid.uuid4().hex[:8]}")
    subscriber.create_subscription(
        name=path, topic=f"projects/{project}/topics/customer-events"
    )

    def pull() -> list[Any]:
        response = subscriber.pull(
            request={"subscription": path, "max_messages": 50}, timeout=5
        )
        return [item.message for item in response.received_messages]

    yield pull
    subscriber.delete_subscription(subscription=path)
    subscriber.close()


def test_created_profile_is_published_once_without_personal_data(
    api: Api, users: Users, customer_events: Any
) -> None:
    user = users.new()
    body = customer_body()
    api.create(user, body, key="k")
    api.create(user, body, key="k")

    [message] = eventually(customer_events)

    envelope = json.loads(message.data)
    assert message.attributes["event_type"] == "customer.profile.created"
    assert envelope["subject"] == user.uid
    assert envelope["data"]["status"] == "pending_kyc"
    assert len(envelope["data"]["email_hash"]) == 64
    for personal in (body["email"], body["phone"], body["family_name"], "1990-04-17"):
        assert personal not in message.data.decode()


class _DownPublisher:
    """A publisher whose Pub/Sub is unreachable, as in a crash before publish."""

    def publish(self, topic: str, envelope: EventEnvelope) -> str:
        raise UnavailableError(code="publish_failed")


@pytest.fixture
def hash_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The PII hash key, for calling the service in this process."""
    monkeypatch.setenv("SECRET_CUSTOMER_PII_HASH_KEY", "test-hash-key")
    reset_secret_source()
    yield
    reset_secret_source()


@pytest.mark.usefixtures("hash_key")
def test_event_left_pending_by_a_failed_publish_goes_out_on_retry(
    firestore_client: firestore.Client,
    customer_events: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = CustomerCreate.model_validate(customer_body())
    uid = uuid.uuid4().hex
    record = _Record(firestore_client, uid)
    request_id = record.request.document_id
    down = Outbox(firestore_client, _DownPublisher())  # type: ignore[arg-type]
    monkeypatch.setattr(profiles, "_outbox", down)

    first = profiles.create_profile(
        firestore_client, uid, body, request_id, _now(), record
    )
    [entry] = list(firestore_client.collection("outbox").stream())
    assert entry.get("state") == "pending"
    assert customer_events() == []

    monkeypatch.setattr(profiles, "_outbox", Outbox(firestore_client))
    again = profiles.create_profile(
        firestore_client, uid, body, request_id, _now(), record
    )

    assert isinstance(first, profiles.VersionedProfile)
    assert isinstance(again, profiles.Replay)
    assert again.outcome["body"] == first.profile.model_dump_json()
    [message] = eventually(customer_events)
    assert message.attributes["event_id"] == f"{uid}.profile.created"
    time.sleep(1)
    assert customer_events() == []
    assert entry.reference.get().get("state") == "published"


class _Record:
    """An idempotency record staged in the creation's batch, as the API does."""

    def __init__(self, client: firestore.Client, uid: str) -> None:
        self.store = IdempotencyStore(client)
        self.request = self.store.request(f"customers.create:{uid}", "key-1", "h")

    def stage(self, batch: firestore.WriteBatch, profile: CustomerProfile) -> None:
        outcome = {"status": 201, "headers": {}, "body": profile.model_dump_json()}
        self.store.stage_completed(batch, self.request, outcome)

    def stored(self) -> dict[str, Any] | None:
        return self.store.stored_outcome(self.request)


def _now() -> datetime:
    return datetime.now(UTC)
