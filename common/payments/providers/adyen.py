"""Adyen: standard webhook notification items as facts.

A request is a batch, ``{"live": "...", "notificationItems":
[{"NotificationRequestItem": {...}}]}``; each item is one event, identified
by pspReference, eventCode and success. The payment is the item's
pspReference for ``AUTHORISATION`` and its originalReference for the
modifications that follow. Amounts are ``{"value", "currency"}`` in minor
units (https://docs.adyen.com/development-resources/currency-codes). The
customer is ``metadata.customer_id`` in additionalData, else the shopper
reference. Other event codes are recorded and change no payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from common.errors import InvalidEventError
from common.payments.currencies import currency_code
from common.payments.facts import (
    DisputeFact,
    DisputeStatus,
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
    timestamp,
    with_fact,
)

PROVIDER: Final = "adyen"
ACCEPTED_BODY: Final = "[accepted]"


def notification_items(raw: bytes) -> list[dict[str, Any]]:
    """Return the ``NotificationRequestItem`` objects of a batch, in order.

    Raises:
        InvalidEventError: not a batch, an empty one, or an item that is not
            an object.
    """
    batch = json_object(raw, "Adyen notification")
    wrapped = batch.get("notificationItems")
    if not isinstance(wrapped, list) or not wrapped:
        raise InvalidEventError("expected a non-empty 'notificationItems' list")

    items = []
    for entry in wrapped:
        item = entry.get("NotificationRequestItem") if isinstance(entry, dict) else None
        if not isinstance(item, dict):
            raise InvalidEventError(
                "expected each notification item to hold a NotificationRequestItem"
            )
        items.append(item)
    return items


def parse_adyen_item(item: Mapping[str, Any], raw: bytes) -> ProviderEvent:
    """Turn one verified notification item into what is recorded.

    ``raw`` is the whole request body, kept with each of its items.

    Raises:
        InvalidEventError: no pspReference or eventCode.
    """
    psp = required_text(item, "pspReference", "the notification item")
    code = required_text(item, "eventCode", "the notification item")
    success = _success(item)
    recorded = ProviderEvent(
        scope=PROVIDER,
        event_key=f"{psp}:{code}:{'true' if success else 'false'}",
        event_type=code,
        raw=raw,
    )
    return with_fact(
        recorded, lambda: _fact(recorded.event_key, item, psp, code, success)
    )


def _fact(
    event_id: str, item: Mapping[str, Any], psp: str, code: str, success: bool
) -> PaymentFact | None:
    fields = _effect(item, psp, code, success)
    if fields is None:
        return None
    return PaymentFact(
        provider=PROVIDER,
        event_id=event_id,
        event_type=code,
        occurred_at=_event_date(item),
        customer_id=_customer(member(item, "additionalData")),
        **fields,
    )


def _effect(
    item: Mapping[str, Any], psp: str, code: str, success: bool
) -> dict[str, Any] | None:
    if code == "AUTHORISATION":
        lifecycle = "authorised" if success else "failed"
        return {"provider_reference": psp, "lifecycle": lifecycle, **_money(item)}

    original = text(item, "originalReference")
    if original is None:
        return None
    if code == "CAPTURE" and success:
        return {
            "provider_reference": original,
            "lifecycle": "succeeded",
            **_money(item),
        }
    if code == "CANCELLATION" and success:
        return {"provider_reference": original, "lifecycle": "canceled"}
    if code in ("REFUND", "REFUND_FAILED"):
        refunded: RefundStatus = (
            "succeeded" if code == "REFUND" and success else "failed"
        )
        return _refund(item, psp, original, refunded)
    if code in ("CHARGEBACK", "CHARGEBACK_REVERSED"):
        # One chargeback per payment: Adyen names it by the payment itself.
        outcome: DisputeStatus = "lost" if code == "CHARGEBACK" else "won"
        dispute = DisputeFact(dispute_id=original, status=outcome)
        return {"provider_reference": original, "dispute": dispute}
    return None


def _refund(
    item: Mapping[str, Any], psp: str, original: str, status: RefundStatus
) -> dict[str, Any]:
    money = _money(item)
    refund = RefundFact(
        refund_id=psp,
        status=status,
        amount_minor=money["amount_minor"],
    )
    return {
        "provider_reference": original,
        "currency": money["currency"],
        "refunds": (refund,),
    }


def _money(item: Mapping[str, Any]) -> dict[str, Any]:
    amount = member(item, "amount")
    value = minor_amount(amount, "value", "the notification amount")
    if value is None:
        raise InvalidEventError("expected the notification item to have an amount")
    return {"amount_minor": value, "currency": currency_code(amount.get("currency"))}


def _success(item: Mapping[str, Any]) -> bool:
    success = item.get("success")
    if success in ("true", True):
        return True
    if success in ("false", False):
        return False
    raise InvalidEventError("expected the notification item's success as true or false")


def _event_date(item: Mapping[str, Any]) -> datetime:
    occurred_at = timestamp(item, "eventDate")
    if occurred_at is None:
        raise InvalidEventError("expected an eventDate with a time zone")
    return occurred_at


def _customer(additional: Mapping[str, Any]) -> str | None:
    # Adyen flattens metadata into additionalData keys ("metadata.customer_id");
    # a nested object is accepted too.
    return (
        text(additional, "metadata.customer_id")
        or text(member(additional, "metadata"), "customer_id")
        or text(additional, "shopperReference")
    )
