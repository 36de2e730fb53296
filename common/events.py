"""Events: the domain event envelope, its publisher, and the CloudEvents in.

Out: every domain event is an ``EventEnvelope`` published as JSON on a Pub/Sub
topic, with ``event_type``, ``event_id`` and ``schema_version`` copied onto
the message's attributes.

In: functions receive CloudEvents, either a Pub/Sub ``messagePublished`` or a
Cloud Storage ``finalized``; the parsers here turn them into typed models or
raise InvalidEventError, which no retry can fix.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field

from common.errors import (
    InvalidEventError,
    UnavailableError,
    validation_error_from_pydantic,
)

if TYPE_CHECKING:
    from cloudevents.http import CloudEvent
    from google.cloud import pubsub_v1

MESSAGE_PUBLISHED_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"
OBJECT_FINALIZED_TYPE = "google.cloud.storage.object.v1.finalized"
EVENT_TYPE_PATTERN = r"^[a-z]+(\.[a-z_]+){2}$"

_SAFE_TOKEN_RE = re.compile(r"[A-Za-z0-9._/-]{1,128}")
_MAX_REPORTED_ERRORS = 5

ModelT = TypeVar("ModelT", bound=BaseModel)


def format_timestamp(value: datetime) -> str:
    """Format a UTC instant as RFC 3339 with ``Z``, e.g. 2026-01-02T03:04:05Z."""
    timespec = "microseconds" if value.microsecond else "seconds"
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


class EventEnvelope(BaseModel):
    """One domain event, as published on a topic."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(min_length=1, max_length=200)
    event_type: str = Field(pattern=EVENT_TYPE_PATTERN)
    occurred_at: AwareDatetime
    schema_version: int = Field(ge=1)
    subject: str = Field(min_length=1)
    data: dict[str, Any] = Field(default_factory=dict)

    @pydantic.field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @pydantic.field_serializer("occurred_at")
    def _serialise_occurred_at(self, value: datetime) -> str:
        return format_timestamp(value)

    def to_json_bytes(self) -> bytes:
        """Return the message data: the envelope as compact JSON."""
        return self.model_dump_json().encode("utf-8")

    def attributes(self) -> dict[str, str]:
        """Return the message attributes copied from the envelope."""
        return {
            "event_type": self.event_type,
            "event_id": self.event_id,
            "schema_version": str(self.schema_version),
        }


def new_event(
    event_type: str,
    subject: str,
    data: dict[str, Any],
    *,
    event_id: str | None = None,
    occurred_at: datetime | None = None,
    schema_version: int = 1,
) -> EventEnvelope:
    """Build an envelope, with a fresh id and the current time by default.

    Pass a deterministic ``event_id`` when the event derives from another one
    (a provider's event id), so that redelivery produces the same id.
    """
    return EventEnvelope(
        event_id=event_id or str(uuid.uuid4()),
        event_type=event_type,
        occurred_at=occurred_at or datetime.now(UTC),
        schema_version=schema_version,
        subject=subject,
        data=data,
    )


class EventPublisher:
    """Publish envelopes to Pub/Sub topics and wait until each is accepted."""

    def __init__(
        self,
        client: pubsub_v1.PublisherClient | None = None,
        *,
        project_id: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = client
        self._project_id = project_id
        self._timeout_s = timeout_s

    def publish(self, topic: str, envelope: EventEnvelope) -> str:
        """Publish one envelope and return its message id.

        ``topic`` is a short name (``payment-events``) or a full resource name.
        Raises UnavailableError when Pub/Sub does not accept it in time.
        """
        from google.api_core.exceptions import GoogleAPIError

        try:
            future = self._publisher().publish(
                self._topic_path(topic),
                envelope.to_json_bytes(),
                event_type=envelope.event_type,
                event_id=envelope.event_id,
                schema_version=str(envelope.schema_version),
            )
            return str(future.result(timeout=self._timeout_s))
        except (GoogleAPIError, TimeoutError, ConnectionError) as exc:
            raise UnavailableError(code="publish_failed") from exc

    def _publisher(self) -> pubsub_v1.PublisherClient:
        if self._client is None:
            from common.clients import publisher_client

            self._client = publisher_client()
        return self._client

    def _topic_path(self, topic: str) -> str:
        if topic.startswith("projects/"):
            return topic
        if self._project_id is None:
            from common.settings import get_settings

            return get_settings().topic_path(topic)
        return f"projects/{self._project_id}/topics/{topic}"


class PubSubMessage(BaseModel):
    """A Pub/Sub message as a CloudEvent carries it, with its data decoded."""

    model_config = ConfigDict(frozen=True)

    data: bytes = b""
    attributes: dict[str, str] = Field(default_factory=dict)
    message_id: str = Field(
        min_length=1, validation_alias=AliasChoices("messageId", "message_id")
    )
    publish_time: AwareDatetime = Field(
        validation_alias=AliasChoices("publishTime", "publish_time")
    )

    @pydantic.field_validator("data", mode="before")
    @classmethod
    def _decode_base64(cls, value: object) -> bytes:
        if isinstance(value, bytes):
            return value
        if not isinstance(value, str):
            raise ValueError("expected a base64 string")
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError("expected a base64 string") from exc

    @pydantic.field_validator("attributes", mode="before")
    @classmethod
    def _no_attributes_is_empty(cls, value: object) -> object:
        return {} if value is None else value


class MessagePublishedData(BaseModel):
    """The data of a ``google.cloud.pubsub.topic.v1.messagePublished`` event."""

    model_config = ConfigDict(frozen=True)

    message: PubSubMessage
    # Absent when the push endpoint names the topic rather than the
    # subscription, as the local platform's pushes do.
    subscription: str | None = None


class StorageObjectData(BaseModel):
    """The object of a ``google.cloud.storage.object.v1.finalized`` event.

    The JSON is the Cloud Storage object resource: camelCase members, int64
    values as strings.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    bucket: str = Field(min_length=1)
    name: str = Field(min_length=1)
    generation: int = Field(ge=1)
    # fake-gcs-server leaves it out; a finalized object is at its first one.
    metageneration: int = Field(default=1, ge=1)
    content_type: str | None = Field(default=None, alias="contentType")
    size: int = Field(ge=0)
    md5_hash: str | None = Field(default=None, alias="md5Hash")
    crc32c: str | None = None
    time_created: AwareDatetime = Field(alias="timeCreated")
    updated: AwareDatetime
    metadata: dict[str, str] = Field(default_factory=dict)

    @pydantic.field_validator("metadata", mode="before")
    @classmethod
    def _no_metadata_is_empty(cls, value: object) -> object:
        return {} if value is None else value


def parse_message_published(event: CloudEvent) -> MessagePublishedData:
    """Return the typed data of a Pub/Sub messagePublished CloudEvent."""
    _check_type(event, MESSAGE_PUBLISHED_TYPE)
    return _parse_data(event, MessagePublishedData, "messagePublished data")


def parse_object_finalized(event: CloudEvent) -> StorageObjectData:
    """Return the typed object of a Cloud Storage finalized CloudEvent."""
    _check_type(event, OBJECT_FINALIZED_TYPE)
    return _parse_data(event, StorageObjectData, "Cloud Storage object")


def envelope_from_message(message: PubSubMessage) -> EventEnvelope:
    """Return the envelope a message carries, checked against its attributes."""
    try:
        raw = json.loads(message.data)
    except ValueError as exc:
        raise InvalidEventError(
            "expected message data to be a JSON event envelope, found "
            f"{len(message.data)} bytes that are not UTF-8 JSON"
        ) from exc
    if not isinstance(raw, dict):
        raise InvalidEventError(
            f"expected message data to be a JSON object, found a JSON {_json_kind(raw)}"
        )

    envelope = _validate(EventEnvelope, raw, "event envelope")
    _check_attributes(message.attributes, envelope)
    return envelope


def _check_type(event: CloudEvent, expected: str) -> None:
    found = event.get("type")
    if found == expected:
        return
    shown = (
        found if isinstance(found, str) and _SAFE_TOKEN_RE.fullmatch(found) else None
    )
    raise InvalidEventError(
        f"expected CloudEvent type {expected}, found {shown or 'another value'}",
        code="unexpected_event_type",
    )


def _parse_data(event: CloudEvent, model: type[ModelT], what: str) -> ModelT:
    data = event.get_data()
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidEventError(
                f"expected the {what} as JSON, found data that is not JSON"
            ) from exc
    if not isinstance(data, dict):
        raise InvalidEventError(
            f"expected the {what} as a JSON object, found {_json_kind(data)}"
        )
    return _validate(model, data, what)


def _validate(model: type[ModelT], raw: dict[str, Any], what: str) -> ModelT:
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        fields = validation_error_from_pydantic(exc).field_errors
        reasons = "; ".join(
            f"{error.field}: {error.message}" for error in fields[:_MAX_REPORTED_ERRORS]
        )
        raise InvalidEventError(
            f"expected a valid {what}; found {len(fields)} problem(s): {reasons}",
            field_errors=fields,
        ) from exc


def _check_attributes(attributes: dict[str, str], envelope: EventEnvelope) -> None:
    for name, expected in envelope.attributes().items():
        found = attributes.get(name)
        if found is not None and found != expected:
            raise InvalidEventError(
                f"expected message attribute {name} to match the envelope's "
                "member, found a different value",
                code="event_attribute_mismatch",
            )


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    kinds = {bool: "boolean", int: "number", float: "number", str: "string"}
    return kinds.get(type(value), "array" if isinstance(value, list) else "value")
