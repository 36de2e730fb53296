"""Fixtures of the analytics tests: a freshly bootstrapped dataset per test."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from common.analytics.bootstrap import bootstrap
from common.analytics.loader import EventLoader
from common.analytics.queries import query_rows
from common.events import PubSubMessage
from emulators.platform import Platform

if TYPE_CHECKING:
    from google.cloud import bigquery

SAMPLES = Path(__file__).parent / "samples"
# The emulator answers a malformed request with a 500 that the client would
# retry for 600 s (EMULATORS.md); tests give up sooner.
RETRY_DEADLINE_S = 5.0


def sample(name: str) -> Any:
    """Read one JSON sample of this folder."""
    return json.loads((SAMPLES / name).read_text())


def message(envelope: dict[str, Any], message_id: str | None = None) -> PubSubMessage:
    """Wrap an envelope as the Pub/Sub message a producer publishes."""
    attributes = {
        "event_type": str(envelope.get("event_type")),
        "event_id": str(envelope.get("event_id")),
        "schema_version": str(envelope.get("schema_version")),
    }
    return PubSubMessage.model_validate(
        {
            "data": base64.b64encode(json.dumps(envelope).encode()).decode(),
            "attributes": attributes,
            "messageId": message_id or uuid.uuid4().hex,
            "publishTime": "2026-12-05T00:00:00Z",
        }
    )


@dataclass(frozen=True)
class Analytics:
    """A dataset of its own, bootstrapped, with a loader writing into it."""

    client: bigquery.Client
    dataset: str
    loader: EventLoader

    def query(self, sql: str, **parameters: Any) -> list[dict[str, Any]]:
        """Run ``sql`` with ``{dataset}`` qualified; return the rows as dicts."""
        return query_rows(
            self.client,
            sql,
            parameters,
            dataset=self.dataset,
            retry_timeout_s=RETRY_DEADLINE_S,
        )

    def view(self, name: str, order_by: str) -> list[dict[str, Any]]:
        """Return every row of one view, in a stable order."""
        return self.query(f"SELECT * FROM `{{dataset}}.{name}` ORDER BY {order_by}")  # noqa: S608

    def count(self, table: str) -> int:
        """Return how many rows one table holds, duplicates included."""
        found = self.query(f"SELECT COUNT(*) AS n FROM `{{dataset}}.{table}`")  # noqa: S608
        return int(found[0]["n"])


@pytest.fixture
def analytics(platform: Platform) -> Iterator[Analytics]:
    """A fresh dataset on the BigQuery emulator, deleted after the test."""
    from common.clients import bigquery_client

    client = bigquery_client()
    dataset = f"test_{uuid.uuid4().hex[:12]}"
    bootstrap(client, dataset=dataset)
    loader = EventLoader(client, dataset=dataset, retry_deadline_s=RETRY_DEADLINE_S)
    yield Analytics(client, dataset, loader)
    client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)
