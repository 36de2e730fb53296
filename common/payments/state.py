"""State: a payment as a pure function of the set of its provider events.

Providers deliver events late, twice and out of order; the state is derived
from the set of facts recorded for the payment, never from the order they
arrived in, so every permutation of the same events gives the same payment:

- the lifecycle is the furthest any fact reached, in the order
  pending < failed < authorised < canceled < succeeded (a failed attempt can
  be followed by a successful one; a capture ends the lifecycle), and a
  refund or a dispute proves the payment succeeded;
- refunds add up by refund id, each counted at its furthest status
  (pending < succeeded < failed or canceled), failed and canceled ones not at
  all; a provider's running total (Stripe's ``amount_refunded``) counts as of
  its latest event, less the refunds that existed then and failed since,
  plus those created since, and the larger of the two figures stands;
- a dispute is open or lost until a fact closes it in the payment's favour;
- ``refunded`` once the refunds reach the amount, ``partially_refunded``
  before, ``disputed`` while a dispute stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from common.payments.events import PaymentStatus
from common.payments.facts import (
    DisputeStatus,
    Lifecycle,
    PaymentFact,
    RefundFact,
    RefundStatus,
)

LIFECYCLE_RANK: Final[dict[Lifecycle, int]] = {
    "pending": 0,
    "failed": 1,
    "authorised": 2,
    "canceled": 3,
    "succeeded": 4,
}
REFUND_RANK: Final[dict[RefundStatus, int]] = {
    "pending": 0,
    "succeeded": 1,
    "failed": 2,
    "canceled": 2,
}
DISPUTE_RANK: Final[dict[DisputeStatus, int]] = {"open": 0, "lost": 1, "won": 2}
_COUNTED_REFUNDS: Final = frozenset({"pending", "succeeded"})


class PaymentState(BaseModel):
    """What is known of one payment from all of its facts."""

    model_config = ConfigDict(frozen=True)

    payment_key: str
    provider: str
    provider_reference: str
    customer_id: str | None
    amount_minor: int
    amount_known: bool
    currency: str
    status: PaymentStatus
    refunded_minor: int
    disputed: bool


def derive_payment(facts: Iterable[PaymentFact]) -> PaymentState:
    """Return the payment that a set of facts describes.

    Raises:
        ValueError: no facts, facts of several payments, or no currency.
    """
    facts = _deduplicated(facts)
    first = _one_payment(facts)

    amount_minor, amount_known = _amount(facts)
    refunded_minor = _refunded(facts)
    disputed = _disputed(facts)
    lifecycle = _lifecycle(facts, refunded_minor > 0 or _any_dispute(facts))
    return PaymentState(
        payment_key=first.payment_key,
        provider=first.provider,
        provider_reference=first.provider_reference,
        customer_id=_customer(facts),
        amount_minor=amount_minor,
        amount_known=amount_known,
        currency=_currency(facts),
        status=_status(lifecycle, amount_minor, amount_known, refunded_minor, disputed),
        refunded_minor=refunded_minor,
        disputed=disputed,
    )


def _deduplicated(facts: Iterable[PaymentFact]) -> list[PaymentFact]:
    # Sorted by event id, so that every tie below breaks the same way.
    unique = {fact.event_id: fact for fact in facts}
    return [unique[event_id] for event_id in sorted(unique)]


def _one_payment(facts: list[PaymentFact]) -> PaymentFact:
    if not facts:
        raise ValueError("a payment needs at least one fact")
    keys = {fact.payment_key for fact in facts}
    if len(keys) > 1:
        raise ValueError("facts of several payments cannot make one")
    return facts[0]


def _lifecycle(facts: list[PaymentFact], settled: bool) -> Lifecycle:
    reached = [fact.lifecycle for fact in facts if fact.lifecycle is not None]
    if settled:
        reached.append("succeeded")
    if not reached:
        return "pending"
    return max(reached, key=LIFECYCLE_RANK.__getitem__)


def _amount(facts: list[PaymentFact]) -> tuple[int, bool]:
    # The amount of the furthest fact: a capture's amount over the
    # authorisation's, since a partial capture is what the customer paid.
    priced = [fact for fact in facts if fact.amount_minor is not None]
    if not priced:
        return 0, False
    best = max(priced, key=_amount_rank)
    assert best.amount_minor is not None
    return best.amount_minor, True


def _amount_rank(fact: PaymentFact) -> tuple[int, str, int]:
    rank = LIFECYCLE_RANK[fact.lifecycle] if fact.lifecycle else -1
    return rank, fact.occurred_at.isoformat(), fact.amount_minor or 0


def _currency(facts: list[PaymentFact]) -> str:
    priced = [f for f in facts if f.amount_minor is not None and f.currency]
    if priced:
        currency = max(priced, key=_amount_rank).currency
        assert currency is not None
        return currency
    named = sorted(fact.currency for fact in facts if fact.currency)
    if not named:
        raise ValueError("no fact names the payment's currency")
    return named[0]


def _customer(facts: list[PaymentFact]) -> str | None:
    named = sorted(fact.customer_id for fact in facts if fact.customer_id)
    return named[0] if named else None


def _refunded(facts: list[PaymentFact]) -> int:
    refunds = _refunds(facts)
    counted = sum(
        refund.amount_minor or 0
        for refund in refunds.values()
        if refund.status in _COUNTED_REFUNDS
    )
    totals = [
        (fact.occurred_at, fact.refunded_total_minor)
        for fact in facts
        if fact.refunded_total_minor is not None
    ]
    if not totals:
        return counted

    # The latest total, brought up to date with what its refunds did since:
    # a refund that fails no longer counts in a later total, so one taken
    # before the failure overstates what was refunded.
    as_of, total = max(totals)
    for refund in refunds.values():
        total += _change_since(refund, as_of)
    return max(counted, total)


@dataclass(frozen=True)
class _Refund:
    """One refund across every fact that names it."""

    status: RefundStatus
    amount_minor: int | None
    created_at: datetime | None
    first_seen: datetime
    failed_at: datetime | None


def _refunds(facts: list[PaymentFact]) -> dict[str, _Refund]:
    refunds: dict[str, _Refund] = {}
    for fact in facts:
        for seen in fact.refunds:
            refunds[seen.refund_id] = _merged(
                refunds.get(seen.refund_id), seen, fact.occurred_at
            )
    return refunds


def _merged(known: _Refund | None, seen: RefundFact, at: datetime) -> _Refund:
    failed_at = at if seen.status not in _COUNTED_REFUNDS else None
    if known is None:
        return _Refund(seen.status, seen.amount_minor, seen.created_at, at, failed_at)

    status = max(known.status, seen.status, key=REFUND_RANK.__getitem__)
    amounts = [a for a in (known.amount_minor, seen.amount_minor) if a is not None]
    return _Refund(
        status=status,
        amount_minor=max(amounts) if amounts else None,
        created_at=_earliest(known.created_at, seen.created_at),
        first_seen=min(known.first_seen, at),
        failed_at=_earliest(known.failed_at, failed_at),
    )


def _change_since(refund: _Refund, as_of: datetime) -> int:
    """What a refund changed in the provider's running total after ``as_of``."""
    amount = refund.amount_minor or 0
    created = refund.created_at
    if refund.status in _COUNTED_REFUNDS:
        # Without a creation time, a refund may be in the total already.
        return amount if created is not None and created > as_of else 0

    existed = (created or refund.first_seen) <= as_of
    failed_since = refund.failed_at is not None and refund.failed_at > as_of
    return -amount if existed and failed_since else 0


def _earliest(*moments: datetime | None) -> datetime | None:
    known = [moment for moment in moments if moment is not None]
    return min(known) if known else None


def _any_dispute(facts: list[PaymentFact]) -> bool:
    return any(fact.dispute is not None for fact in facts)


def _disputed(facts: list[PaymentFact]) -> bool:
    disputes: dict[str, DisputeStatus] = {}
    for dispute in (fact.dispute for fact in facts if fact.dispute):
        known = disputes.get(dispute.dispute_id, dispute.status)
        disputes[dispute.dispute_id] = max(
            known, dispute.status, key=DISPUTE_RANK.__getitem__
        )
    return any(status != "won" for status in disputes.values())


def _status(
    lifecycle: Lifecycle,
    amount_minor: int,
    amount_known: bool,
    refunded_minor: int,
    disputed: bool,
) -> PaymentStatus:
    if disputed:
        return "disputed"
    if lifecycle != "succeeded" or refunded_minor == 0:
        return lifecycle
    # Without the payment's amount, a refund proves only a partial refund.
    if amount_known and refunded_minor >= amount_minor:
        return "refunded"
    return "partially_refunded"
