"""Unit tests of common.events: the envelope, the publisher and event parsing."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pydantic
import pytest
from cloudevents.http import CloudEvent
from google.api_core import exceptions as api_exceptions

from common.errors import InvalidEventError, UnavailableError
from common.events import (
    EventEnvelope,
    EventPublisher,
    PubSubMessage,
    envelope_from_message,
    format_timestamp,
    new_event,
    parse_message_published,
    parse_object_finalized,
)

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).parent / "samples"
OCCURRED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads((SAMPLES / name).read_text()))


def cloud_event(raw: dict[str, Any]) -> CloudEvent:
    attributes = {key: value for key, value in raw.items() if key != "data"}
    return CloudEvent(attributes, raw.get("data"))


def message(data: bytes, attributes: dict[str, str] | None = None) -> PubSubMessage:
    return PubSubMessage.model_validate(
        {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes or {},
            "messageId": "1",
            "publishTime": "2026-01-02T03:04:06Z",
        }
    )


def test_new_event_defaults_fill_id_and_time() -> None:
    envelope = new_event("customer.profile.created", "cus_1", {"country": "DE"})

    assert envelope.event_id
    assert envelope.occurred_at.tzinfo is not None
    assert envelope.schema_version == 1


def test_envelope_json_matches_the_product_shape() -> None:
    envelope = new_event(
        "payment.charge.succeeded",
        "stripe:pi_1",
        {"amount_minor": 1250},
        event_id="evt_1",
        occurred_at=OCCURRED_AT,
    )

    assert json.loads(envelope.to_json_bytes()) == {
        "event_id": "evt_1",
        "event_type": "payment.charge.succeeded",
        "occurred_at": "2026-01-02T03:04:05Z",
        "schema_version": 1,
        "subject": "stripe:pi_1",
        "data": {"amount_minor": 1250},
    }
    assert envelope.attributes() == {
        "event_type": "payment.charge.succeeded",
        "event_id": "evt_1",
        "schema_version": "1",
    }


def test_envelope_other_timezone_is_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=1))

    envelope = new_event(
        "kyc.document.verified",
        "cus_1",
        {},
        occurred_at=datetime(2026, 1, 2, 4, 4, 5, tzinfo=paris),
    )

    assert envelope.occurred_at == OCCURRED_AT
    assert envelope.occurred_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (OCCURRED_AT, "2026-01-02T03:04:05Z"),
        (OCCURRED_AT.replace(microsecond=120000), "2026-01-02T03:04:05.120000Z"),
    ],
)
def test_format_timestamp_utc_instant_ends_with_z(instant: datetime, text: str) -> None:
    assert format_timestamp(instant) == text


@pytest.mark.parametrize(
    "event_type",
    ["payment", "payment.charge", "Payment.charge.succeeded", "a.b.c.d", "a..b"],
)
def test_new_event_bad_event_type_is_refused(event_type: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        new_event(event_type, "cus_1", {})


def test_new_event_naive_time_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        new_event("customer.profile.created", "cus_1", {}, occurred_at=datetime.now())


class FakeFuture:
    def __init__(self, outcome: str | BaseException) -> None:
        self.outcome = outcome
        self.timeout: float | None = None

    def result(self, timeout: float | None = None) -> str:
        self.timeout = timeout
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakePublisher:
    def __init__(self, outcome: str | BaseException = "msg-1") -> None:
        self.future = FakeFuture(outcome)
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, **attributes: str) -> FakeFuture:
        self.published.append((topic, data, attributes))
        return self.future


def publisher(fake: FakePublisher) -> EventPublisher:
    return EventPublisher(cast(Any, fake), project_id="demo-events", timeout_s=3.0)


def test_publish_short_topic_sends_json_and_attributes() -> None:
    fake = FakePublisher()
    envelope = new_event("customer.profile.created", "cus_1", {}, event_id="e1")

    message_id = publisher(fake).publish("customer-events", envelope)

    [(topic, data, attributes)] = fake.published
    assert message_id == "msg-1"
    assert topic == "projects/demo-events/topics/customer-events"
    assert EventEnvelope.model_validate_json(data) == envelope
    assert attributes == envelope.attributes()
    assert fake.future.timeout == 3.0


def test_publish_full_topic_path_is_kept() -> None:
    fake = FakePublisher()
    envelope = new_event("customer.profile.created", "cus_1", {})

    publisher(fake).publish("projects/other/topics/dead-letters", envelope)

    assert fake.published[0][0] == "projects/other/topics/dead-letters"


@pytest.mark.parametrize(
    "failure",
    [
        TimeoutError(),
        cast(Any, api_exceptions.ServiceUnavailable)("down"),
        cast(Any, api_exceptions.NotFound)("topic"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_publish_failure_raises_retryable_unavailable(failure: Exception) -> None:
    fake = FakePublisher(failure)
    envelope = new_event("customer.profile.created", "cus_1", {})

    with pytest.raises(UnavailableError) as caught:
        publisher(fake).publish("customer-events", envelope)

    assert caught.value.retryable is True
    assert caught.value.__cause__ is failure


@pytest.mark.parametrize(
    ("name", "subscription"),
    [
        (
            "message_published.json",
            "projects/crm-prod/subscriptions/"
            "eventarc-europe-west1-bigquery-loader-sub-042",
        ),
        ("message_published_local.json", None),
    ],
)
def test_parse_message_published_samples_give_typed_message(
    name: str, subscription: str | None
) -> None:
    parsed = parse_message_published(cloud_event(sample(name)))

    assert parsed.subscription == subscription
    assert parsed.message.attributes["event_type"] == "payment.charge.succeeded"
    assert parsed.message.publish_time.tzinfo is not None
    assert json.loads(parsed.message.data)["event_id"] == "evt_3PqL2aB"


def test_envelope_from_message_sample_gives_envelope() -> None:
    parsed = parse_message_published(cloud_event(sample("message_published.json")))

    envelope = envelope_from_message(parsed.message)

    assert envelope.event_type == "payment.charge.succeeded"
    assert envelope.occurred_at == OCCURRED_AT
    assert envelope.data == {"amount_minor": 1250, "currency": "EUR"}


def test_parse_message_published_empty_message_data_is_empty_bytes() -> None:
    raw = sample("message_published.json")
    del raw["data"]["message"]["data"]
    del raw["data"]["message"]["attributes"]

    parsed = parse_message_published(cloud_event(raw))

    assert parsed.message.data == b""
    assert parsed.message.attributes == {}


def test_parse_message_published_wrong_type_names_both_types() -> None:
    event = cloud_event(sample("object_finalized.json"))

    with pytest.raises(InvalidEventError) as caught:
        parse_message_published(event)

    assert caught.value.code == "unexpected_event_type"
    assert caught.value.detail == (
        "expected CloudEvent type google.cloud.pubsub.topic.v1.messagePublished, "
        "found google.cloud.storage.object.v1.finalized"
    )


def test_parse_message_published_odd_type_is_not_echoed() -> None:
    raw = sample("message_published.json")
    raw["type"] = "<script>alert(1)</script>"

    with pytest.raises(InvalidEventError) as caught:
        parse_message_published(cloud_event(raw))

    assert "script" not in caught.value.detail
    assert caught.value.detail.endswith("found another value")


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda d: d["message"].update(data="%%% not base64 %%%"), "message.data"),
        (lambda d: d["message"].pop("publishTime"), "message.publishTime"),
        (lambda d: d.update(message="secret-text"), "message"),
    ],
)
def test_parse_message_published_bad_data_names_field_not_value(
    change: Any, location: str
) -> None:
    raw = sample("message_published_local.json")
    change(raw["data"])

    with pytest.raises(InvalidEventError) as caught:
        parse_message_published(cloud_event(raw))

    assert caught.value.code == "invalid_event"
    assert location in caught.value.detail
    assert "secret-text" not in caught.value.detail
    assert "not base64" not in caught.value.detail
    first_field = caught.value.field_errors[0].field
    assert first_field.startswith(location.split(".")[0])


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (None, "null"),
        (["a"], "array"),
        (b"not json", "not JSON"),
    ],
)
def test_parse_message_published_data_not_an_object_says_what_was_found(
    data: Any, found: str
) -> None:
    raw = sample("message_published.json")
    raw["data"] = data

    with pytest.raises(InvalidEventError) as caught:
        parse_message_published(cloud_event(raw))

    assert found in caught.value.detail


def test_parse_object_finalized_eventarc_sample_gives_typed_object() -> None:
    obj = parse_object_finalized(cloud_event(sample("object_finalized.json")))

    assert obj.bucket == "crm-prod-kyc-uploads"
    assert obj.name == "customers/cus_7Hq2/doc_91Kz"
    assert obj.generation == 1767323047456789
    assert obj.metageneration == 1
    assert obj.size == 482113
    assert obj.content_type == "image/jpeg"
    assert obj.md5_hash == "XrY7u+Ae7tCTyyK7j1rNww=="
    assert obj.crc32c == "yZRlqg=="
    assert obj.metadata == {"document_type": "passport"}
    assert obj.time_created.tzinfo is not None


def test_parse_object_finalized_local_sample_defaults_missing_members() -> None:
    obj = parse_object_finalized(cloud_event(sample("object_finalized_local.json")))

    assert obj.metageneration == 1
    assert obj.metadata == {}
    assert obj.generation == 1767323048000000


@pytest.mark.parametrize(
    ("member", "value", "location"),
    [
        ("generation", "not-a-number", "generation"),
        ("size", "-1", "size"),
        ("bucket", None, "bucket"),
        ("timeCreated", "yesterday", "timeCreated"),
    ],
)
def test_parse_object_finalized_bad_member_names_it(
    member: str, value: Any, location: str
) -> None:
    raw = sample("object_finalized.json")
    raw["data"][member] = value

    with pytest.raises(InvalidEventError) as caught:
        parse_object_finalized(cloud_event(raw))

    assert location in caught.value.detail
    assert "yesterday" not in caught.value.detail
    assert "not-a-number" not in caught.value.detail


def test_parse_object_finalized_wrong_type_is_refused() -> None:
    event = cloud_event(sample("message_published.json"))

    with pytest.raises(InvalidEventError, match="expected CloudEvent type"):
        parse_object_finalized(event)


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{not json", "not UTF-8 JSON"),
        (b"[1, 2]", "found a JSON array"),
        (b'"text"', "found a JSON string"),
    ],
)
def test_envelope_from_message_not_an_object_says_what_was_found(
    data: bytes, found: str
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        envelope_from_message(message(data))

    assert found in caught.value.detail


def test_envelope_from_message_invalid_envelope_lists_fields() -> None:
    data = {
        "event_id": "e1",
        "event_type": "Payment-Succeeded",
        "occurred_at": "2026-01-02T03:04:05Z",
        "schema_version": 0,
        "subject": "private subject",
    }

    with pytest.raises(InvalidEventError) as caught:
        envelope_from_message(message(json.dumps(data).encode()))

    fields = {error.field for error in caught.value.field_errors}
    assert fields == {"event_type", "schema_version"}
    assert "Payment-Succeeded" not in caught.value.detail
    assert "private subject" not in caught.value.detail


def test_envelope_from_message_attribute_mismatch_is_refused() -> None:
    envelope = new_event("payment.charge.succeeded", "stripe:pi_1", {}, event_id="e1")
    attributes = {**envelope.attributes(), "event_type": "payment.charge.failed"}

    with pytest.raises(InvalidEventError) as caught:
        envelope_from_message(message(envelope.to_json_bytes(), attributes))

    assert caught.value.code == "event_attribute_mismatch"
    assert "event_type" in caught.value.detail
    assert "payment.charge.failed" not in caught.value.detail


def test_envelope_from_message_without_attributes_is_accepted() -> None:
    envelope = new_event("kyc.document.verified", "cus_1", {"document_id": "d1"})

    parsed = envelope_from_message(message(envelope.to_json_bytes()))

    assert parsed == envelope


def test_sample_files_are_not_mutated_between_tests() -> None:
    first = sample("message_published.json")
    second = copy.deepcopy(first)

    second["data"]["message"]["data"] = ""

    assert sample("message_published.json") == first
