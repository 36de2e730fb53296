"""The demo's last step: what BigQuery's views show for the demo's customers.

While a producer is not built yet, the step publishes stand-in events for a
demo customer of its own (profile, verified passport, a payment refunded),
shaped as the catalogue says, so that the loader and the views have a whole
customer to show.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from emulators.config import DATASET

if TYPE_CHECKING:
    from common.events import EventEnvelope
    from emulators.platform import Platform

STAND_IN_CUSTOMER = "demo-customer"
VISIBLE_TIMEOUT_S = 60.0
# The function that publishes each topic's events, and the topic.
PRODUCERS = {
    "customers": "customer-events",
    "kyc_documents": "kyc-events",
    "payment_webhooks": "payment-events",
}
CUSTOMER_360_COLUMNS = (
    "customer_id",
    "status",
    "kyc_status",
    "currency",
    "payments",
    "succeeded_count",
    "refunded_count",
    "refunded_minor",
    "last_payment_status",
    "settled_net_minor",
)


def show_analytics(platform: Platform) -> None:
    """Print customer_360 and daily_payment_volume for the demo's customers."""
    served = {function.name for function in platform.functions}
    missing = [name for name in PRODUCERS if name not in served]
    if missing:
        # A customer of its own: the real ones have no payments to show yet.
        print(
            f"- stand-in events for {STAND_IN_CUSTOMER} ({', '.join(missing)} "
            "not built yet)"
        )
        _publish_stand_ins()
        _wait_for(STAND_IN_CUSTOMER)

    print("BigQuery views:")
    rows = _query(
        "SELECT * FROM `{dataset}.customer_360` ORDER BY customer_id, currency LIMIT 20"
    )
    _print_rows("customer_360", rows, CUSTOMER_360_COLUMNS)
    volume = _query(
        "SELECT * FROM `{dataset}.daily_payment_volume` "
        "ORDER BY day, provider, currency, status LIMIT 20"
    )
    _print_rows("daily_payment_volume", volume, tuple(volume[0]) if volume else ())


def _publish_stand_ins() -> None:
    from common.events import EventPublisher

    publisher = EventPublisher()
    for topic, envelope in _stand_in_events(datetime.now(UTC)):
        publisher.publish(topic, envelope)


def _stand_in_events(now: datetime) -> list[tuple[str, EventEnvelope]]:
    from common.events import new_event

    customer, key = STAND_IN_CUSTOMER, f"stripe:pi_demo_{uuid.uuid4().hex[:8]}"
    at = [now + timedelta(seconds=second) for second in range(6)]
    stamps = [moment.isoformat() for moment in at]
    profile = {
        "customer_id": customer,
        "status": "pending_kyc",
        "country": "DE",
        "address_country": "DE",
        "terms_version": "2026-01",
        "email_hash": "0" * 64,
        "phone_hash": "1" * 64,
        "created_at": stamps[0],
        "updated_at": stamps[0],
    }
    document = {
        "customer_id": customer,
        "document_id": "demo-passport",
        "document_type": "passport",
        "status": "verified",
        "decided_by": "automatic",
        "announced_at": stamps[0],
        "decided_at": stamps[1],
    }
    activated = {
        "customer_id": customer,
        "previous_status": "pending_kyc",
        "status": "active",
        "reason": "kyc_verified",
        "decided_by": "kyc",
        "changed_at": stamps[1],
    }
    created = new_event(
        "customer.profile.created", customer, profile, occurred_at=at[0]
    )
    verified = new_event("kyc.document.verified", customer, document, occurred_at=at[1])
    active = new_event(
        "customer.status.changed", customer, activated, occurred_at=at[1]
    )
    return [
        ("customer-events", created),
        ("kyc-events", verified),
        ("customer-events", active),
        ("payment-events", _payment(key, "pending", 0, at[2])),
        ("payment-events", _payment(key, "succeeded", 0, at[3])),
        ("payment-events", _payment(key, "refunded", 2500, at[4])),
    ]


def _payment(key: str, status: str, refunded: int, at: datetime) -> EventEnvelope:
    from common.events import new_event
    from common.payments.events import STATUS_EVENT_TYPES

    data = {
        "payment_key": key,
        "provider": "stripe",
        "provider_reference": key.split(":", 1)[1],
        "customer_id": STAND_IN_CUSTOMER,
        "amount_minor": 2500,
        "currency": "EUR",
        "status": status,
        "refunded_minor": refunded,
        "provider_event_id": f"evt_demo_{status}",
        "provider_event_type": "stand-in",
        "updated_at": at.isoformat(),
    }
    return new_event(STATUS_EVENT_TYPES[status], key, data, occurred_at=at)


def _wait_for(customer: str) -> None:
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    sql = (
        "SELECT last_payment_status FROM `{dataset}.customer_360` "
        "WHERE customer_id = @customer"
    )
    while time.monotonic() < deadline:
        rows = _query(sql, customer=customer)
        if rows and rows[0]["last_payment_status"] == "refunded":
            return
        time.sleep(0.5)
    print(f"  (not every event was visible within {VISIBLE_TIMEOUT_S:.0f} s)")


def _query(sql: str, **parameters: str) -> list[dict[str, Any]]:
    from common.analytics.queries import query_rows
    from common.clients import bigquery_client

    return query_rows(bigquery_client(), sql, parameters, dataset=DATASET)


def _print_rows(
    title: str, rows: list[dict[str, Any]], columns: tuple[str, ...]
) -> None:
    print(f"  {title}: {len(rows)} row(s)")
    if not rows:
        return
    cells = [list(columns)] + [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    for line in cells:
        print("    " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)
