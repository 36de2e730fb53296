"""Dead letters: the facts read off a forwarded message, and one record each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from google.api_core.exceptions import AlreadyExists, ServiceUnavailable

from common.dead_letters import (
    MAX_STORED_DATA_BYTES,
    dead_letter_from_message,
    record_dead_letter,
)
from common.errors import UnavailableError
from common.events import MessagePublishedData
from common.settings import reset_settings_cache

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _project(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-crm-aid")
    reset_settings_cache()
    yield
    reset_settings_cache()


def _published(attributes: dict[str, str], data: bytes = b"{}") -> MessagePublishedData:
    return MessagePublishedData.model_validate(
        {
            "message": {
                "data": data,
                "attributes": attributes,
                "messageId": "17",
                "publishTime": "2026-12-01T09:00:00Z",
            },
            "subscription": "projects/demo-crm-aid/subscriptions/eventarc-dead-letters",
        }
    )


class FakeDocument:
    """A Firestore document reference that keeps what is created."""

    def __init__(self, store: dict[str, Any], name: str, error: Exception | None):
        self._store, self._name, self._error = store, name, error

    def create(self, record: dict[str, Any]) -> None:
        if self._error is not None:
            raise self._error
        if self._name in self._store:
            raise AlreadyExists("exists")
        self._store[self._name] = record


class FakeFirestore:
    """Just enough of `firestore.Client` for `record_dead_letter`."""

    def __init__(self, error: Exception | None = None) -> None:
        self.store: dict[str, Any] = {}
        self._error = error

    def collection(self, name: str) -> FakeFirestore:
        assert name == "dead_letters"
        return self

    def document(self, name: str) -> FakeDocument:
        return FakeDocument(self.store, name, self._error)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("eventarc-loader", "projects/demo-crm-aid/subscriptions/eventarc-loader"),
        (
            "projects/other/subscriptions/eventarc-loader",
            "projects/other/subscriptions/eventarc-loader",
        ),
    ],
)
def test_dead_letter_from_message_source_subscription_is_a_full_path(
    given: str, expected: str
) -> None:
    letter = dead_letter_from_message(
        _published({"CloudPubSubDeadLetterSourceSubscription": given})
    )

    assert letter.source_subscription == expected


def test_dead_letter_from_message_reads_count_and_event_attributes() -> None:
    letter = dead_letter_from_message(
        _published(
            {
                "CloudPubSubDeadLetterSourceDeliveryCount": "5",
                "event_id": "e-1",
                "event_type": "kyc.document.verified",
            }
        )
    )

    assert letter.delivery_count == 5
    assert letter.event_id == "e-1"
    assert letter.event_type == "kyc.document.verified"
    assert letter.delivered_by == (
        "projects/demo-crm-aid/subscriptions/eventarc-dead-letters"
    )


def test_dead_letter_from_message_without_dead_letter_attributes_keeps_nones() -> None:
    letter = dead_letter_from_message(
        _published({"CloudPubSubDeadLetterSourceDeliveryCount": "many"})
    )

    assert letter.source_subscription is None
    assert letter.delivery_count is None


def test_record_dead_letter_second_delivery_writes_nothing() -> None:
    client = FakeFirestore()
    letter = dead_letter_from_message(_published({}))

    first = record_dead_letter(letter, client, now=NOW)  # type: ignore[arg-type]
    second = record_dead_letter(letter, client, now=NOW)  # type: ignore[arg-type]

    assert (first, second) == (True, False)
    assert list(client.store) == ["17"]
    assert client.store["17"]["received_at"] == NOW


def test_record_dead_letter_large_data_is_truncated_with_size_and_hash() -> None:
    client = FakeFirestore()
    data = b"x" * (MAX_STORED_DATA_BYTES + 10)

    record_dead_letter(
        dead_letter_from_message(_published({}, data)),
        client,  # type: ignore[arg-type]
    )

    record = client.store["17"]
    assert record["data_truncated"] is True
    assert record["data_size"] == MAX_STORED_DATA_BYTES + 10
    assert len(record["data"]) == MAX_STORED_DATA_BYTES
    assert len(record["data_sha256"]) == 64


def test_record_dead_letter_firestore_down_is_retryable() -> None:
    client = FakeFirestore(error=ServiceUnavailable("down"))
    letter = dead_letter_from_message(_published({}))

    with pytest.raises(UnavailableError) as raised:
        record_dead_letter(letter, client)  # type: ignore[arg-type]

    assert raised.value.retryable is True
