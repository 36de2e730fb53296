"""Loader: write each delivered domain event into its BigQuery table.

Rows go in with ``insert_rows_json`` (the streaming ``tabledata.insertAll``),
one call per event, the event id as ``insertId``. That dedupe is best-effort
in production and absent in the emulator, so the views dedupe by event id;
the loader never reads before it writes. Not the Storage Write API: its
default stream has no dedupe at all, and its exactly-once mode needs an
application stream with offsets per writer, which one event per invocation
across many instances cannot keep; the emulator's gRPC side of it was not
shown to match production either.

A message no retry can load (not an envelope, a type or version the
catalogue does not know, data that fails its schema) is acknowledged and
recorded in the ``dead_letters`` table with the reason. Anything else raises,
so that Pub/Sub delivers it again and, after the subscription's attempts,
forwards it to the ``dead-letters`` topic.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from common.analytics.rows import (
    LOADED_BY_LOADER,
    TableRow,
    dead_letter_row,
    event_row,
)
from common.analytics.schema import DATASET
from common.errors import InternalError, InvalidEventError, google_errors
from common.events import EventEnvelope, PubSubMessage, envelope_from_message
from common.logs import log_fields

if TYPE_CHECKING:
    from google.cloud import bigquery

LOADED: Final = "loaded"
DEAD_LETTERED: Final = "dead_lettered"
ROWS_REJECTED: Final = "bigquery_rows_rejected"
# Below the function's timeout (triggers/functions.toml), so that a slow
# BigQuery ends in a 5xx that Pub/Sub retries, not in a killed request.
DEFAULT_RETRY_DEADLINE_S: Final = 30.0
DEFAULT_REQUEST_TIMEOUT_S: Final = 10.0

logger = logging.getLogger(__name__)


class EventLoader:
    """Insert event rows, and rows of rejected messages, into one dataset."""

    def __init__(
        self,
        client: bigquery.Client | None = None,
        *,
        dataset: str = DATASET,
        retry_deadline_s: float = DEFAULT_RETRY_DEADLINE_S,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    ) -> None:
        self._client = client
        self.dataset = dataset
        self._retry_deadline_s = retry_deadline_s
        self._request_timeout_s = request_timeout_s

    def load_message(
        self,
        message: PubSubMessage,
        *,
        topic: str | None = None,
        subscription: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """Load the event one message carries; return ``loaded`` or the code.

        Returns the rejection's code when the message is permanently invalid
        and was recorded in dead_letters instead.

        Raises:
            UnavailableError: BigQuery failed transiently; retry the message.
            InternalError: BigQuery refused the rows; retry the message.
        """
        now = now or datetime.now(UTC)
        envelope: EventEnvelope | None = None
        try:
            envelope = envelope_from_message(message)
            row = event_row(envelope, loaded_at=now, loaded_by=LOADED_BY_LOADER)
        except InvalidEventError as exc:
            rejected = dead_letter_row(
                message,
                exc,
                envelope=envelope,
                topic=topic,
                subscription=subscription,
                received_at=now,
            )
            self.insert([rejected])
            logger.warning(
                "event dead-lettered",
                extra=log_fields(
                    code=exc.code,
                    message_id=message.message_id,
                    event_id=rejected.values["event_id"],
                    event_type=rejected.values["event_type"],
                ),
            )
            return exc.code

        self.insert([row])
        return LOADED

    def insert(self, rows: Sequence[TableRow]) -> None:
        """Insert rows, grouped by table, each under its insert id.

        Raises:
            UnavailableError: BigQuery failed transiently.
            InternalError: BigQuery refused some rows.
        """
        by_table: dict[str, list[TableRow]] = {}
        for row in rows:
            by_table.setdefault(row.table.name, []).append(row)
        for name, table_rows in by_table.items():
            self._insert_table(name, table_rows)

    def table_id(self, name: str) -> str:
        """Return the full id of one table of this loader's dataset."""
        return f"{self.client.project}.{self.dataset}.{name}"

    @property
    def client(self) -> bigquery.Client:
        """The BigQuery client, built on first use."""
        if self._client is None:
            from common.clients import bigquery_client

            self._client = bigquery_client()
        return self._client

    def _insert_table(self, name: str, rows: list[TableRow]) -> None:
        from google.cloud.bigquery import DEFAULT_RETRY

        with google_errors():
            errors = self.client.insert_rows_json(
                self.table_id(name),
                [row.values for row in rows],
                row_ids=[row.row_id for row in rows],
                retry=DEFAULT_RETRY.with_timeout(self._retry_deadline_s),
                timeout=self._request_timeout_s,
            )
        if errors:
            self._rows_rejected(name, errors)

    def _rows_rejected(self, name: str, errors: Sequence[dict[str, Any]]) -> None:
        # Only the reasons: BigQuery's messages may quote the values.
        reasons = sorted(
            {
                str(error.get("reason"))
                for entry in errors
                for error in entry.get("errors", [])
            }
        )
        logger.error(
            "bigquery rows rejected",
            extra=log_fields(table=name, rows=len(errors), reasons=reasons),
        )
        raise InternalError(
            f"expected BigQuery to accept the {name} rows, found "
            f"{len(errors)} rejected: {', '.join(reasons)}",
            code=ROWS_REJECTED,
        )


def topic_from_source(source: object) -> str | None:
    """Return the topic a messagePublished CloudEvent's ``source`` names.

    The source is ``//pubsub.googleapis.com/projects/P/topics/T``.
    """
    if not isinstance(source, str) or "/topics/" not in source:
        return None
    return source.rsplit("/topics/", 1)[1] or None
