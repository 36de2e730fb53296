"""The Firestore index file: large opaque strings are never indexed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

INDEXES = Path(__file__).resolve().parents[2] / "firestore.indexes.json"
# Fields holding JSON or raw payloads: nobody queries them, and indexing them
# would only add index entries to every write.
OPAQUE = {
    ("payment_provider_events", "raw"),
    ("payment_provider_events", "fact_json"),
    ("payments", "facts_json"),
    ("outbox", "envelope"),
    ("idempotency_keys", "outcome"),
}


def test_opaque_fields_are_exempt_from_indexing() -> None:
    overrides = json.loads(INDEXES.read_text())["fieldOverrides"]
    exempt = {
        (o["collectionGroup"], o["fieldPath"])
        for o in overrides
        if o.get("indexes") == []
    }

    assert exempt >= OPAQUE
