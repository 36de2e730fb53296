"""Stripe: events (``payment_intent.*``, ``charge.*``, ``refund.*``) as facts.

The payment is the PaymentIntent, or the charge when there is none (the
Charges API). Amounts are already integers in the currency's smallest unit,
which for every currency Stripe settles is the ISO 4217 minor unit
(https://docs.stripe.com/currencies#zero-decimal). The customer is
``metadata.customer_id`` on the object. Event types not listed here are
recorded and change no payment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from common.errors import InvalidEventError
from common.payments.currencies import currency_code
from common.payments.facts import (
    DisputeFact,
    DisputeStatus,
    Lifecycle,
    PaymentFact,
    ProviderEvent,
    RefundFact,
    RefundStatus,
)
from common.payments.providers import (
    json_object,
    member,
    minor_amount,
    required_text,
    text,
    with_fact,
)

PROVIDER: Final = "stripe"

_INTENT_LIFECYCLE: Final[dict[str, Lifecycle]] = {
    "payment_intent.created": "pending",
    "payment_intent.processing": "pending",
    "payment_intent.requires_action": "pending",
    "payment_intent.partially_funded": "pending",
    "payment_intent.amount_capturable_updated": "authorised",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "canceled",
}
_CHARGE_LIFECYCLE: Final[dict[str, Lifecycle]] = {
    "charge.pending": "pending",
    "charge.captured": "succeeded",
    "charge.failed": "failed",
    "charge.expired": "canceled",
}
_REFUND_STATUS: Final[dict[str, RefundStatus]] = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}
_REFUND_TYPES: Final = frozenset(
    {"refund.created", "refund.updated", "refund.failed", "charge.refund.updated"}
)
_DISPUTE_TYPES: Final = frozenset({"charge.dispute.created", "charge.dispute.closed"})


def parse_stripe_event(raw: bytes) -> ProviderEvent:
    """Turn a verified Stripe event body into what is recorded.

    An event of a known type whose object cannot be read (an amount that is
    not an integer, an unknown currency) is recorded with ``fact_error``.

    Raises:
        InvalidEventError: not an event (no id, type, created or object).
    """
    event = json_object(raw, "Stripe event")
    event_id = required_text(event, "id", "the Stripe event")
    event_type = required_text(event, "type", "the Stripe event")
    occurred_at = _epoch(event.get("created"))
    obj = member(member(event, "data"), "object")
    if occurred_at is None or not obj:
        raise InvalidEventError("expected a Stripe event with created and data.object")

    recorded = ProviderEvent(
        scope=PROVIDER, event_key=event_id, event_type=event_type, raw=raw
    )
    return with_fact(recorded, lambda: _fact(event_id, event_type, occurred_at, obj))


def _fact(
    event_id: str, event_type: str, occurred_at: datetime, obj: Mapping[str, Any]
) -> PaymentFact | None:
    build = _builder(event_type)
    if build is None:
        return None
    fields = build(event_type, obj)
    if fields is None:
        return None
    return PaymentFact(
        provider=PROVIDER,
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        customer_id=text(member(obj, "metadata"), "customer_id"),
        **fields,
    )


Builder = Callable[[str, Mapping[str, Any]], dict[str, Any] | None]


def _builder(event_type: str) -> Builder | None:
    if event_type in _INTENT_LIFECYCLE:
        return _intent
    if event_type in _CHARGE_LIFECYCLE or event_type == "charge.succeeded":
        return _charge
    if event_type == "charge.refunded":
        return _charge_refunded
    if event_type in _REFUND_TYPES:
        return _refund
    if event_type in _DISPUTE_TYPES:
        return _dispute
    return None


def _intent(event_type: str, intent: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "provider_reference": required_text(intent, "id", "the PaymentIntent"),
        "lifecycle": _INTENT_LIFECYCLE[event_type],
        **_money(intent, "the PaymentIntent"),
    }


def _charge(event_type: str, charge: Mapping[str, Any]) -> dict[str, Any]:
    lifecycle = _CHARGE_LIFECYCLE.get(event_type)
    if lifecycle is None:
        # charge.succeeded: an uncaptured charge is only authorised.
        lifecycle = "succeeded" if charge.get("captured", True) else "authorised"
    return {
        "provider_reference": _charge_payment(charge),
        "lifecycle": lifecycle,
        **_money(charge, "the charge"),
    }


def _charge_refunded(event_type: str, charge: Mapping[str, Any]) -> dict[str, Any]:
    refunds = member(charge, "refunds").get("data")
    listed = refunds if isinstance(refunds, list) else []
    return {
        **_charge("charge.captured", charge),
        "refunded_total_minor": minor_amount(charge, "amount_refunded", "the charge"),
        "refunds": tuple(_refund_fact(r) for r in listed if isinstance(r, Mapping)),
    }


def _refund(event_type: str, refund: Mapping[str, Any]) -> dict[str, Any] | None:
    reference = text(refund, "payment_intent") or text(refund, "charge")
    if reference is None:
        return None
    fact = _refund_fact(refund)
    if event_type == "refund.failed":
        fact = fact.model_copy(update={"status": "failed"})
    return {
        "provider_reference": reference,
        "currency": currency_code(refund.get("currency")),
        "refunds": (fact,),
    }


def _refund_fact(refund: Mapping[str, Any]) -> RefundFact:
    status = _REFUND_STATUS.get(str(refund.get("status")), "pending")
    return RefundFact(
        refund_id=required_text(refund, "id", "the refund"),
        status=status,
        amount_minor=minor_amount(refund, "amount", "the refund"),
        created_at=_epoch(refund.get("created")),
    )


def _epoch(value: object) -> datetime | None:
    """Return Stripe's Unix time in seconds (``created``) in UTC, if it is one."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _dispute(event_type: str, dispute: Mapping[str, Any]) -> dict[str, Any] | None:
    reference = text(dispute, "payment_intent") or text(dispute, "charge")
    if reference is None:
        return None
    status: DisputeStatus = "open"
    if event_type == "charge.dispute.closed":
        # warning_closed: an inquiry that closed without a chargeback.
        status = "lost" if dispute.get("status") == "lost" else "won"
    return {
        "provider_reference": reference,
        "dispute": DisputeFact(
            dispute_id=required_text(dispute, "id", "the dispute"), status=status
        ),
    }


def _charge_payment(charge: Mapping[str, Any]) -> str:
    return text(charge, "payment_intent") or required_text(charge, "id", "the charge")


def _money(obj: Mapping[str, Any], what: str) -> dict[str, Any]:
    amount = minor_amount(obj, "amount", what)
    if amount is None:
        raise InvalidEventError(f"expected {what} to have an amount")
    return {"amount_minor": amount, "currency": currency_code(obj.get("currency"))}
