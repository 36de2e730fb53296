"""The demo's stand-in events follow the catalogue, so the loader takes them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from common.analytics.rows import LOADED_BY_LOADER, event_row
from emulators.demo_analytics import PRODUCERS, _stand_in_events

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_stand_in_events_each_loads_as_a_row_of_its_topic_domain() -> None:
    events = _stand_in_events(NOW)

    tables = {
        topic: event_row(envelope, loaded_at=NOW, loaded_by=LOADED_BY_LOADER).table.name
        for topic, envelope in events
    }

    assert set(tables) == set(PRODUCERS.values())
    assert tables == {
        "customer-events": "customer_events",
        "kyc-events": "kyc_checks",
        "payment-events": "payments",
    }
