"""Standard Webhooks senders: payment events in the product's own shape.

A sender that signs with Standard Webhooks (https://www.standardwebhooks.com/)
posts ``{"type", "timestamp", "data"}``, the payload the specification
recommends. The types this product reads are ``payment.<status>`` (created,
authorised, succeeded, failed, canceled), ``payment.refunded`` and
``payment.refund_failed`` (with ``refund_id`` and ``refund_amount``), and
``payment.disputed``, ``payment.dispute_won`` and ``payment.dispute_lost``
(with ``dispute_id``). ``data`` names the payment (``payment_id``), its
``amount`` as a decimal string in ``currency``, and ``customer_id``. Other
types are recorded and change no payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from common.payments.currencies import currency_code, to_minor_units
from common.payments.facts import (
    DisputeFact,
    DisputeStatus,
    Lifecycle,
    PaymentFact,
    ProviderEvent,
    RefundFact,
)
from common.payments.providers import (
    json_object,
    member,
    required_text,
    text,
    timestamp,
    with_fact,
)

SCOPE_PREFIX: Final = "standard:"

_LIFECYCLE: Final[dict[str, Lifecycle]] = {
    "payment.created": "pending",
    "payment.authorised": "authorised",
    "payment.succeeded": "succeeded",
    "payment.failed": "failed",
    "payment.canceled": "canceled",
}
_DISPUTES: Final[dict[str, DisputeStatus]] = {
    "payment.disputed": "open",
    "payment.dispute_won": "won",
    "payment.dispute_lost": "lost",
}


def parse_standard_event(
    source: str, message_id: str, header_timestamp: str, raw: bytes
) -> ProviderEvent:
    """Turn a verified Standard Webhooks delivery into what is recorded.

    ``message_id`` and ``header_timestamp`` are the verified ``webhook-id`` and
    ``webhook-timestamp`` headers; the source is the payment's provider.

    Raises:
        InvalidEventError: the body is not an object with a string ``type``.
    """
    payload = json_object(raw, "webhook payload")
    event_type = required_text(payload, "type", "the webhook payload")
    recorded = ProviderEvent(
        scope=SCOPE_PREFIX + source,
        event_key=message_id,
        event_type=event_type,
        raw=raw,
    )
    occurred_at = timestamp(payload, "timestamp") or datetime.fromtimestamp(
        int(header_timestamp), tz=UTC
    )
    data = member(payload, "data")
    return with_fact(
        recorded, lambda: _fact(source, message_id, event_type, occurred_at, data)
    )


def _fact(
    source: str,
    message_id: str,
    event_type: str,
    occurred_at: datetime,
    data: Mapping[str, Any],
) -> PaymentFact | None:
    effect = _effect(event_type, data)
    if effect is None:
        return None
    return PaymentFact(
        provider=source,
        provider_reference=required_text(data, "payment_id", "the payment data"),
        event_id=message_id,
        event_type=event_type,
        occurred_at=occurred_at,
        customer_id=text(data, "customer_id"),
        **effect,
    )


def _effect(event_type: str, data: Mapping[str, Any]) -> dict[str, Any] | None:
    if event_type in _LIFECYCLE:
        return {"lifecycle": _LIFECYCLE[event_type], **_money(data, "amount")}
    if event_type in ("payment.refunded", "payment.refund_failed"):
        money = _money(data, "refund_amount")
        refund = RefundFact(
            refund_id=required_text(data, "refund_id", "the refund data"),
            status="succeeded" if event_type == "payment.refunded" else "failed",
            amount_minor=money["amount_minor"],
        )
        return {"currency": money["currency"], "refunds": (refund,)}
    if event_type in _DISPUTES:
        dispute_id = required_text(data, "dispute_id", "the dispute data")
        status = _DISPUTES[event_type]
        return {"dispute": DisputeFact(dispute_id=dispute_id, status=status)}
    return None


def _money(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    currency = currency_code(data.get("currency"))
    amount = required_text(data, name, "the payment data")
    return {"amount_minor": to_minor_units(amount, currency), "currency": currency}
