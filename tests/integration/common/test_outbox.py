"""Integration tests of common.outbox against the Firestore and Pub/Sub emulators."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from common.errors import UnavailableError
from common.events import EventEnvelope, new_event
from common.logs import invocation
from common.outbox import PENDING, PUBLISHED, PUBLISHED_EVENTS_FIELD, Outbox
from tests.integration.common.conftest import Topic
from tests.support import ReadLines

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _event(event_id: str) -> EventEnvelope:
    return new_event(
        "customer.profile.created",
        "cus_1",
        {"customer_id": "cus_1"},
        event_id=event_id,
        occurred_at=T0,
    )


def _commit_change(
    client: firestore.Client, outbox: Outbox, topic: Topic, *event_ids: str
) -> None:
    """Write a domain document and stage its events in one batch."""
    batch = client.batch()
    batch.set(client.collection("things").document("thing_1"), {"version": 1})
    for event_id in event_ids:
        outbox.stage(batch, topic.name, _event(event_id), now=T0)
    batch.commit()


def _state(client: firestore.Client, event_id: str) -> str:
    stored = client.collection("outbox").document(event_id).get().to_dict() or {}
    return str(stored.get("state"))


def test_outbox_relay_publishes_each_staged_event_once(
    firestore_client: firestore.Client, topic: Topic
) -> None:
    outbox = Outbox(firestore_client)
    _commit_change(firestore_client, outbox, topic, "evt_a", "evt_b")

    relayed = outbox.relay(["evt_a", "evt_b"])
    again = outbox.relay(["evt_a", "evt_b"])

    messages = topic.pull()
    assert (relayed, again) == (2, 0)
    assert sorted(m.attributes["event_id"] for m in messages) == ["evt_a", "evt_b"]
    assert json.loads(messages[0].data)["event_type"] == "customer.profile.created"
    assert _state(firestore_client, "evt_a") == PUBLISHED


def test_outbox_publishes_of_an_invocation_ride_on_its_one_line(
    firestore_client: firestore.Client, topic: Topic, read_lines: ReadLines
) -> None:
    outbox = Outbox(firestore_client)
    _commit_change(firestore_client, outbox, topic, "evt_a", "evt_b")

    with invocation("http"):
        outbox.relay_committed(topic.name, [_event("evt_a"), _event("evt_b")])

    [finished] = read_lines()
    assert finished["message"] == "invocation finished"
    assert [e["event_id"] for e in finished[PUBLISHED_EVENTS_FIELD]] == [
        "evt_a",
        "evt_b",
    ]
    assert {e["topic"] for e in finished[PUBLISHED_EVENTS_FIELD]} == {topic.name}


def test_outbox_publish_outside_an_invocation_logs_its_own_line(
    firestore_client: firestore.Client, topic: Topic, read_lines: ReadLines
) -> None:
    outbox = Outbox(firestore_client)
    _commit_change(firestore_client, outbox, topic, "evt_a")

    outbox.relay(["evt_a"])

    [line] = [line for line in read_lines() if line["message"] == "event published"]
    assert (line["event_id"], line["topic"]) == ("evt_a", topic.name)


def test_outbox_restaged_event_fails_the_whole_batch(
    firestore_client: firestore.Client, topic: Topic
) -> None:
    outbox = Outbox(firestore_client)
    _commit_change(firestore_client, outbox, topic, "evt_a")

    batch = firestore_client.batch()
    batch.set(firestore_client.collection("things").document("thing_2"), {"v": 2})
    outbox.stage(batch, topic.name, _event("evt_a"))
    with pytest.raises(AlreadyExists):
        batch.commit()

    assert not firestore_client.collection("things").document("thing_2").get().exists


def test_outbox_crash_before_relay_is_swept_later(
    firestore_client: firestore.Client, topic: Topic
) -> None:
    outbox = Outbox(firestore_client)
    _commit_change(firestore_client, outbox, topic, "evt_crashed")

    too_young = outbox.relay_pending(older_than=timedelta(minutes=1), now=T0)
    swept = outbox.relay_pending(
        older_than=timedelta(minutes=1), now=T0 + timedelta(minutes=2)
    )
    swept_again = outbox.relay_pending(
        older_than=timedelta(minutes=1), now=T0 + timedelta(minutes=3)
    )

    assert (too_young, swept, swept_again) == (0, 1, 0)
    assert [m.attributes["event_id"] for m in topic.pull()] == ["evt_crashed"]


def test_outbox_publish_failure_keeps_the_entry_pending(
    firestore_client: firestore.Client, topic: Topic
) -> None:
    outbox = Outbox(firestore_client)
    batch = firestore_client.batch()
    outbox.stage(batch, "no-such-topic", _event("evt_lost"))
    batch.commit()

    with pytest.raises(UnavailableError) as raised:
        outbox.relay(["evt_lost"])

    assert raised.value.code == "publish_failed"
    assert _state(firestore_client, "evt_lost") == PENDING


def test_outbox_sweep_if_due_runs_once_per_interval(
    firestore_client: firestore.Client, topic: Topic
) -> None:
    outbox = Outbox(firestore_client)
    _commit_change(firestore_client, outbox, topic, "evt_first")
    outbox.sweep_if_due()
    _commit_change(firestore_client, outbox, topic, "evt_second")

    outbox.sweep_if_due()

    assert [m.attributes["event_id"] for m in topic.pull()] == ["evt_first"]
    assert _state(firestore_client, "evt_second") == PENDING
