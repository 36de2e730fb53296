"""Provider payloads normalised into facts: references, amounts, customers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from common.errors import InvalidEventError
from common.payments.currencies import to_minor_units
from common.payments.providers.adyen import notification_items, parse_adyen_item
from common.payments.providers.standard import parse_standard_event
from common.payments.providers.stripe import parse_stripe_event
from tests.payment_samples import adyen_item, body_of, sample, stripe_event


@pytest.mark.parametrize(
    ("name", "lifecycle"),
    [
        ("payment_intent.created", "pending"),
        ("payment_intent.succeeded", "succeeded"),
        ("charge.succeeded", "succeeded"),
        ("charge.refunded", "succeeded"),
    ],
)
def test_parse_stripe_event_payment_types_name_the_intent(
    name: str, lifecycle: str
) -> None:
    event = parse_stripe_event(body_of(stripe_event(name)))

    assert event.fact is not None
    assert event.fact.payment_key == "stripe:pi_3QxDemoIntent0001"
    assert event.fact.lifecycle == lifecycle
    assert event.fact.customer_id == "cust-7f3a9c"
    assert (event.fact.amount_minor, event.fact.currency) == (2500, "EUR")


def test_parse_stripe_event_uncaptured_charge_is_authorised() -> None:
    event = parse_stripe_event(
        body_of(stripe_event("charge.succeeded", captured=False))
    )

    assert event.fact is not None
    assert event.fact.lifecycle == "authorised"


def test_parse_stripe_event_legacy_charge_without_intent_names_the_charge() -> None:
    document = stripe_event("charge.succeeded")
    del document["data"]["object"]["payment_intent"]

    event = parse_stripe_event(body_of(document))

    assert event.fact is not None
    assert event.fact.provider_reference == "ch_3QxDemoCharge0001"


def test_parse_stripe_event_refund_is_a_refund_fact() -> None:
    event = parse_stripe_event(body_of(stripe_event("refund.created")))

    assert event.fact is not None
    assert event.fact.amount_minor is None
    (refund,) = event.fact.refunds
    assert (refund.refund_id, refund.amount_minor) == ("re_3QxDemoRefund0001", 1000)


def test_parse_stripe_event_zero_decimal_currency_is_kept_as_is() -> None:
    event = parse_stripe_event(
        body_of(stripe_event("charge.succeeded", amount=1500, currency="jpy"))
    )

    assert event.fact is not None
    assert (event.fact.amount_minor, event.fact.currency) == (1500, "JPY")


def test_parse_stripe_event_unknown_type_is_recorded_without_fact() -> None:
    event = parse_stripe_event(body_of(sample("stripe/customer.created")))

    assert (event.event_key, event.event_type) == (
        "evt_3QxCusCreated001",
        "customer.created",
    )
    assert event.fact is None
    assert event.fact_error is None


@pytest.mark.parametrize(
    "fields", [{"amount": 25.0}, {"amount": "2500"}, {"currency": "zzz"}]
)
def test_parse_stripe_event_unreadable_amount_is_recorded_with_error(
    fields: dict[str, Any],
) -> None:
    event = parse_stripe_event(body_of(stripe_event("charge.succeeded", **fields)))

    assert event.fact is None
    assert event.fact_error in ("invalid_amount", "invalid_currency")


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"id": "evt_1"}'])
def test_parse_stripe_event_not_an_event_is_invalid(body: bytes) -> None:
    with pytest.raises(InvalidEventError):
        parse_stripe_event(body)


def test_parse_adyen_item_authorisation_names_payment_and_customer() -> None:
    event = parse_adyen_item(adyen_item("authorisation"), b"{}")

    assert event.event_key == "QFQTPCQ8HXSKGK82:AUTHORISATION:true"
    assert event.fact is not None
    assert event.fact.payment_key == "adyen:QFQTPCQ8HXSKGK82"
    assert event.fact.customer_id == "cust-7f3a9c"
    assert (event.fact.amount_minor, event.fact.currency) == (4200, "EUR")


def test_parse_adyen_item_shopper_reference_when_no_metadata() -> None:
    item = adyen_item("authorisation")
    del item["additionalData"]["metadata.customer_id"]

    event = parse_adyen_item(item, b"{}")

    assert event.fact is not None
    assert event.fact.customer_id == "shopper-7f3a9c"


@pytest.mark.parametrize(("created", "expected"), [(1796198000, True), ("x", False)])
def test_parse_stripe_event_refund_keeps_its_creation_time(
    created: object, expected: bool
) -> None:
    event = parse_stripe_event(body_of(stripe_event("refund.created", created=created)))

    assert event.fact is not None
    (refund,) = event.fact.refunds
    if expected:
        assert refund.created_at == datetime(2026, 12, 2, 7, 53, 20, tzinfo=UTC)
    else:
        assert refund.created_at is None


def test_parse_adyen_item_refund_belongs_to_the_original_payment() -> None:
    event = parse_adyen_item(adyen_item("refund"), b"{}")

    assert event.fact is not None
    assert event.fact.payment_key == "adyen:QFQTPCQ8HXSKGK82"
    assert event.fact.refunds[0].refund_id == "ZC4R4RBFJGXXGN82"


def test_parse_adyen_item_other_code_is_recorded_without_fact() -> None:
    event = parse_adyen_item(adyen_item("capture", eventCode="REPORT_AVAILABLE"), b"")

    assert event.fact is None


def test_notification_items_empty_batch_is_invalid() -> None:
    with pytest.raises(InvalidEventError):
        notification_items(b'{"live": "false", "notificationItems": []}')


def test_parse_standard_event_decimal_amount_uses_currency_exponent() -> None:
    raw = body_of(sample("standard/payment.succeeded"))

    event = parse_standard_event("ledgerline", "msg_1", "1796112000", raw)

    assert event.scope == "standard:ledgerline"
    assert event.fact is not None
    assert event.fact.payment_key == "ledgerline:lp_01JDEMO7Q2"
    assert (event.fact.amount_minor, event.fact.currency) == (1250500, "KWD")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("1000", "JPY", 1000), ("12.34", "EUR", 1234), ("1.234", "KWD", 1234)],
)
def test_to_minor_units_follows_iso_4217_exponent(
    amount: str, currency: str, minor: int
) -> None:
    assert to_minor_units(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"), [("1.5", "JPY"), ("1.005", "EUR"), ("1e3", "EUR")]
)
def test_to_minor_units_too_precise_or_odd_is_refused(
    amount: str, currency: str
) -> None:
    with pytest.raises(InvalidEventError):
        to_minor_units(amount, currency)


@pytest.mark.parametrize(
    ("sample_name", "event_type", "lifecycle"),
    [
        ("payment_intent.created", "payment_intent.processing", "pending"),
        (
            "payment_intent.created",
            "payment_intent.amount_capturable_updated",
            "authorised",
        ),
        ("payment_intent.created", "payment_intent.payment_failed", "failed"),
        ("payment_intent.created", "payment_intent.canceled", "canceled"),
        ("charge.succeeded", "charge.failed", "failed"),
        ("charge.succeeded", "charge.captured", "succeeded"),
        ("charge.succeeded", "charge.pending", "pending"),
    ],
)
def test_parse_stripe_event_lifecycle_types_map_to_their_status(
    sample_name: str, event_type: str, lifecycle: str
) -> None:
    document = stripe_event(sample_name)
    document["type"] = event_type

    event = parse_stripe_event(body_of(document))

    assert event.fact is not None
    assert event.fact.lifecycle == lifecycle


def test_parse_stripe_event_refund_failed_is_a_failed_refund() -> None:
    event = parse_stripe_event(body_of(sample("stripe/refund.failed")))

    assert event.fact is not None
    assert [r.status for r in event.fact.refunds] == ["failed"]


@pytest.mark.parametrize(
    ("status", "expected"),
    [("won", "won"), ("lost", "lost"), ("warning_closed", "won")],
)
def test_parse_stripe_event_dispute_closed_names_the_outcome(
    status: str, expected: str
) -> None:
    document = stripe_event("charge.dispute.closed", status=status)

    event = parse_stripe_event(body_of(document))

    assert event.fact is not None
    assert event.fact.dispute is not None
    assert event.fact.dispute.status == expected


def test_parse_stripe_event_charge_refunded_reports_the_running_total() -> None:
    event = parse_stripe_event(body_of(stripe_event("charge.refunded")))

    assert event.fact is not None
    assert event.fact.refunded_total_minor == 1000
