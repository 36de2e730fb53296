"""A payment's state from its set of facts, whatever order they came in."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from common.payments.facts import PaymentFact
from common.payments.providers.adyen import parse_adyen_item
from common.payments.providers.stripe import parse_stripe_event
from common.payments.state import PaymentState, derive_payment
from tests.payment_samples import adyen_item, body_of, stripe_event

INTENT = "pi_3QxDemoIntent0001"


def _stripe(name: str, event_id: str, **fields: Any) -> PaymentFact:
    event = parse_stripe_event(body_of(stripe_event(name, event_id, **fields)))
    assert event.fact is not None
    return event.fact


def _adyen(name: str, **fields: Any) -> PaymentFact:
    event = parse_adyen_item(adyen_item(name, **fields), b"{}")
    assert event.fact is not None
    return event.fact


def _refund(event_id: str, refund_id: str, amount: int, **fields: Any) -> PaymentFact:
    return _stripe("refund.created", event_id, id=refund_id, amount=amount, **fields)


def _every_order(facts: list[PaymentFact]) -> set[PaymentState]:
    return {derive_payment(order) for order in itertools.permutations(facts)}


STRIPE_LIFECYCLE = [
    _stripe("payment_intent.created", "evt_1"),
    _stripe("payment_intent.succeeded", "evt_2"),
    _stripe("charge.succeeded", "evt_3"),
    _refund("evt_4", "re_1", 1000),
    _stripe("charge.refunded", "evt_5", amount_refunded=1000),
    _refund("evt_6", "re_2", 1500),
]


def test_derive_payment_stripe_lifecycle_every_permutation_one_state() -> None:
    states = _every_order(STRIPE_LIFECYCLE)

    assert len(states) == 1
    (state,) = states
    assert state.status == "refunded"
    assert (state.amount_minor, state.currency) == (2500, "EUR")
    assert state.refunded_minor == 2500
    assert state.customer_id == "cust-7f3a9c"
    assert state.payment_key == f"stripe:{INTENT}"


def test_derive_payment_partial_refunds_add_up_by_refund_id() -> None:
    facts = [
        *STRIPE_LIFECYCLE[:3],
        _refund("evt_4", "re_1", 1000),
        _refund("evt_7", "re_1", 1000, status="succeeded"),
    ]

    (state,) = _every_order(facts)

    assert state.status == "partially_refunded"
    assert state.refunded_minor == 1000


def test_derive_payment_late_pending_never_overwrites_succeeded() -> None:
    facts = [_stripe("payment_intent.succeeded", "evt_2")]
    late = _stripe("payment_intent.created", "evt_1")

    assert derive_payment([*facts, late]).status == "succeeded"


def test_derive_payment_failed_refund_is_not_counted() -> None:
    facts = [
        *STRIPE_LIFECYCLE[:3],
        _refund("evt_4", "re_1", 1000),
        _stripe("refund.failed", "evt_8", id="re_1", amount=1000, status="failed"),
    ]

    (state,) = _every_order(facts)

    assert (state.status, state.refunded_minor) == ("succeeded", 0)


def _at(name: str, event_id: str, sent: int, **fields: Any) -> PaymentFact:
    """A Stripe event sent at ``sent``; ``fields`` go into its object."""
    event = stripe_event(name, event_id, **fields)
    event["created"] = sent
    parsed = parse_stripe_event(body_of(event))
    assert parsed.fact is not None
    return parsed.fact


T = 1_796_198_400  # the refund samples' day


def test_derive_payment_refund_counted_in_a_total_then_failed_is_not_counted() -> None:
    facts = [
        STRIPE_LIFECYCLE[2],
        _at("refund.created", "evt_r1", T, id="re_1", amount=1000, status="pending"),
        _at("charge.refunded", "evt_t1", T + 1, amount_refunded=1000),
        _at("refund.failed", "evt_f1", T + 60, id="re_1", amount=1000),
    ]

    (state,) = _every_order(facts)

    assert (state.status, state.refunded_minor) == ("succeeded", 0)


def test_derive_payment_refund_failed_after_a_total_is_known_by_its_creation() -> None:
    failed = _at("refund.failed", "evt_f1", T + 60, id="re_1", amount=400, created=T)
    facts = [
        STRIPE_LIFECYCLE[2],
        _at("charge.refunded", "evt_t1", T + 1, amount_refunded=1000),
        failed,
    ]

    (state,) = _every_order(facts)

    assert (state.status, state.refunded_minor) == ("partially_refunded", 600)


def test_derive_payment_refund_failed_of_unknown_age_leaves_the_total() -> None:
    # Nothing says the refund existed when the total was taken: it stands.
    facts = [
        _at("charge.refunded", "evt_t1", T + 1, amount_refunded=1000),
        _at("refund.failed", "evt_f1", T + 60, id="re_1", amount=400),
    ]

    (state,) = _every_order(facts)

    assert state.refunded_minor == 1000


def test_derive_payment_refund_created_after_the_latest_total_adds_to_it() -> None:
    later = _at(
        "refund.created", "evt_r2", T + 90, id="re_2", amount=500, created=T + 90
    )
    facts = [
        STRIPE_LIFECYCLE[2],
        _at("charge.refunded", "evt_t1", T + 1, amount_refunded=1000),
        later,
    ]

    (state,) = _every_order(facts)

    assert (state.status, state.refunded_minor) == ("partially_refunded", 1500)


def test_derive_payment_latest_total_wins_over_an_earlier_larger_one() -> None:
    facts = [
        STRIPE_LIFECYCLE[2],
        _at("charge.refunded", "evt_t1", T + 1, amount_refunded=1000),
        _at("charge.refunded", "evt_t2", T + 120, amount_refunded=600),
    ]

    (state,) = _every_order(facts)

    assert state.refunded_minor == 600


def test_derive_payment_refund_before_any_charge_is_partially_refunded() -> None:
    state = derive_payment([_refund("evt_4", "re_1", 2500)])

    assert (state.status, state.amount_known) == ("partially_refunded", False)


def test_derive_payment_dispute_open_then_won_every_order() -> None:
    opened = _stripe("charge.dispute.created", "evt_9")
    facts = [*STRIPE_LIFECYCLE[:3], opened]

    assert derive_payment(facts).status == "disputed"
    closed = _stripe("charge.dispute.closed", "evt_10")
    (state,) = _every_order([*facts, closed])
    assert (state.status, state.disputed) == ("succeeded", False)


def test_derive_payment_dispute_lost_stays_disputed() -> None:
    facts = [
        *STRIPE_LIFECYCLE[:3],
        _stripe("charge.dispute.created", "evt_9"),
        _stripe("charge.dispute.closed", "evt_10", status="lost"),
    ]

    (state,) = _every_order(facts)

    assert (state.status, state.disputed) == ("disputed", True)


ADYEN_LIFECYCLE = [
    _adyen("authorisation"),
    _adyen("capture"),
    _adyen("refund", pspReference="REF1", amount={"currency": "EUR", "value": 1200}),
    _adyen("refund", pspReference="REF2", amount={"currency": "EUR", "value": 3000}),
    _adyen(
        "refund",
        pspReference="REF2",
        eventCode="REFUND_FAILED",
        amount={"currency": "EUR", "value": 3000},
    ),
]


def test_derive_payment_adyen_lifecycle_every_permutation_one_state() -> None:
    (state,) = _every_order(ADYEN_LIFECYCLE)

    assert state.status == "partially_refunded"
    assert (state.amount_minor, state.refunded_minor) == (4200, 1200)
    assert state.customer_id == "cust-7f3a9c"
    assert state.payment_key == "adyen:QFQTPCQ8HXSKGK82"


def test_derive_payment_adyen_refused_then_authorised_is_authorised() -> None:
    refused = _adyen("authorisation", success="false")
    authorised = _adyen("authorisation")

    (state,) = _every_order([refused, authorised])

    assert state.status == "authorised"


def test_derive_payment_adyen_chargeback_then_reversed_every_order() -> None:
    chargeback = _adyen("refund", eventCode="CHARGEBACK", pspReference="CB1")
    reversed_ = _adyen("refund", eventCode="CHARGEBACK_REVERSED", pspReference="CB2")

    assert derive_payment([*ADYEN_LIFECYCLE[:2], chargeback]).status == "disputed"
    (state,) = _every_order([*ADYEN_LIFECYCLE[:2], chargeback, reversed_])
    assert state.status == "succeeded"


def test_derive_payment_cancellation_of_an_authorisation_is_canceled() -> None:
    canceled = _adyen("capture", eventCode="CANCELLATION", pspReference="CAN1")

    (state,) = _every_order([ADYEN_LIFECYCLE[0], canceled])

    assert state.status == "canceled"


def test_derive_payment_same_fact_twice_counts_once() -> None:
    refund = _refund("evt_4", "re_1", 1000)

    state = derive_payment([*STRIPE_LIFECYCLE[:3], refund, refund])

    assert state.refunded_minor == 1000


def test_derive_payment_facts_of_two_payments_are_refused() -> None:
    other = _stripe("payment_intent.created", "evt_x", intent="pi_other")

    with pytest.raises(ValueError, match="several payments"):
        derive_payment([STRIPE_LIFECYCLE[0], other])
