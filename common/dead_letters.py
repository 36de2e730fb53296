"""Dead letters: events that exhausted their retries, kept for operators."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from common.errors import wrap_google_error
from common.events import MessagePublishedData
from common.logs import log_fields

if TYPE_CHECKING:
    from google.cloud import firestore

COLLECTION = "dead_letters"
# Pub/Sub writes these on a message it forwards to a dead-letter topic:
# https://cloud.google.com/pubsub/docs/handling-failures
SOURCE_SUBSCRIPTION_ATTRIBUTE = "CloudPubSubDeadLetterSourceSubscription"
DELIVERY_COUNT_ATTRIBUTE = "CloudPubSubDeadLetterSourceDeliveryCount"
# A Firestore document holds at most 1 MiB; a Pub/Sub message up to 10 MB.
MAX_STORED_DATA_BYTES = 512 * 1024

logger = logging.getLogger(__name__)


class DeadLetter(BaseModel):
    """One dead-lettered message, as it reached the dead-letter topic."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    source_subscription: str | None
    delivery_count: int | None
    event_id: str | None
    event_type: str | None
    attributes: dict[str, str]
    data: bytes
    published_at: AwareDatetime
    delivered_by: str | None


def dead_letter_from_message(published: MessagePublishedData) -> DeadLetter:
    """Read the dead-letter facts Pub/Sub put on a forwarded message."""
    message = published.message
    attributes = message.attributes
    count = attributes.get(DELIVERY_COUNT_ATTRIBUTE, "")
    return DeadLetter(
        message_id=message.message_id,
        source_subscription=_subscription_path(
            attributes.get(SOURCE_SUBSCRIPTION_ATTRIBUTE)
        ),
        delivery_count=int(count) if count.isdigit() else None,
        event_id=attributes.get("event_id"),
        event_type=attributes.get("event_type"),
        attributes=dict(attributes),
        data=message.data,
        published_at=message.publish_time,
        delivered_by=published.subscription,
    )


def _subscription_path(name: str | None) -> str | None:
    # Pub/Sub names the full path; its emulator only the subscription id.
    if not name or name.startswith("projects/"):
        return name
    from common.settings import get_settings

    return f"projects/{get_settings().project_id}/subscriptions/{name}"


def record_dead_letter(
    letter: DeadLetter,
    client: firestore.Client,
    now: datetime | None = None,
) -> bool:
    """Record a dead letter once; return False when it was already recorded.

    The document id is the message id on the dead-letter topic, so a second
    delivery of the same message finds its record and writes nothing.

    Raises:
        UnavailableError: Firestore did not answer; a retry can fix it.
    """
    from google.api_core.exceptions import AlreadyExists, GoogleAPICallError

    document = client.collection(COLLECTION).document(letter.message_id)
    try:
        document.create(_record(letter, now or datetime.now(UTC)))
    except AlreadyExists:
        logger.info(
            "dead letter already recorded",
            extra=log_fields(message_id=letter.message_id),
        )
        return False
    except GoogleAPICallError as exc:
        raise wrap_google_error(exc) from exc

    logger.warning(
        "dead letter recorded",
        extra=log_fields(
            message_id=letter.message_id,
            source_subscription=letter.source_subscription,
            delivery_count=letter.delivery_count,
            event_type=letter.event_type,
        ),
    )
    return True


def _record(letter: DeadLetter, received_at: datetime) -> dict[str, Any]:
    truncated = len(letter.data) > MAX_STORED_DATA_BYTES
    return {
        "message_id": letter.message_id,
        "source_subscription": letter.source_subscription,
        "delivery_count": letter.delivery_count,
        "event_id": letter.event_id,
        "event_type": letter.event_type,
        "attributes": letter.attributes,
        "data": letter.data[:MAX_STORED_DATA_BYTES],
        "data_size": len(letter.data),
        "data_sha256": hashlib.sha256(letter.data).hexdigest(),
        "data_truncated": truncated,
        "published_at": letter.published_at,
        "received_at": received_at,
        "delivered_by": letter.delivered_by,
    }
