"""Entry point of `bigquery_loader`: load each domain event into BigQuery.

Deployed once per event topic (triggers/functions.toml), the same code each
time. Answers (as a Pub/Sub push through Eventarc): 2xx once the event's row
is written; 2xx too when no retry can load it (not an envelope, an unknown
type or schema version, invalid data), after recording it in the BigQuery
``dead_letters`` table, or when the CloudEvent is not a Pub/Sub message at
all (logged as a warning); 5xx when BigQuery fails, so that Pub/Sub delivers
it again and finally dead-letters it.
"""

from __future__ import annotations

import logging

import functions_framework
from cloudevents.http import CloudEvent

from common.startup import pause_garbage_collection

# Imported with the collector paused: see common/startup.py.
with pause_garbage_collection():
    # Every invocation needs the BigQuery library: import it as the instance
    # starts, before it serves, not inside the first request's thread; the
    # client itself is still made on first use.
    from google.cloud import bigquery  # noqa: F401

    from common.analytics.loader import EventLoader, topic_from_source
    from common.errors import InvalidEventError
    from common.events import parse_message_published
    from common.logs import configure_logging, invocation, log_fields

    configure_logging("bigquery_loader")
    logger = logging.getLogger("bigquery_loader")
    loader = EventLoader()


@functions_framework.cloud_event
def bigquery_loader(event: CloudEvent) -> None:
    """Write the event one message carries into its table, once per delivery.

    Raises:
        UnavailableError: BigQuery did not answer (answered 500, retried).
        InternalError: BigQuery refused the row (answered 500, retried).
    """
    topic = topic_from_source(event.get("source"))
    with invocation("pubsub", cloud_event_id=event["id"], topic=topic) as current:
        try:
            published = parse_message_published(event)
        except InvalidEventError as exc:
            logger.warning("event rejected", extra=log_fields(code=exc.code))
            current.outcome = exc.code
            return

        current.outcome = loader.load_message(
            published.message, topic=topic, subscription=published.subscription
        )
