"""Entry point of `dead_letters`: record every event that exhausted its retries.

Answers (as a Pub/Sub push through Eventarc): 2xx once the message is
recorded or was recorded before, or when the event is malformed (a retry
cannot fix it; logged as a warning); 5xx when Firestore is unavailable, so
that Pub/Sub delivers it again.
"""

from __future__ import annotations

import logging

import functions_framework
from cloudevents.http import CloudEvent

from common.startup import pause_garbage_collection

# Imported with the collector paused: see common/startup.py.
with pause_garbage_collection():
    # Every invocation needs the Firestore library: import it as the instance
    # starts, before it serves, not inside the first request's thread; the
    # client itself is still made on first use.
    from google.cloud import firestore  # noqa: F401

    from common.clients import firestore_client
    from common.dead_letters import dead_letter_from_message, record_dead_letter
    from common.errors import InvalidEventError
    from common.events import parse_message_published
    from common.logs import configure_logging, invocation, log_fields

    configure_logging("dead_letters")
logger = logging.getLogger("dead_letters")


@functions_framework.cloud_event
def dead_letters(event: CloudEvent) -> None:
    """Record one dead-lettered message in Firestore, once.

    Raises:
        UnavailableError: Firestore did not answer (answered 500, retried).
    """
    with invocation("pubsub", cloud_event_id=event["id"]) as current:
        try:
            published = parse_message_published(event)
        except InvalidEventError as exc:
            logger.warning("event rejected", extra=log_fields(code=exc.code))
            current.outcome = exc.code
            return

        letter = dead_letter_from_message(published)
        created = record_dead_letter(letter, firestore_client())
        current.outcome = "recorded" if created else "duplicate"
