"""Facts: what one provider event says about a payment, in provider-free terms.

Providers differ in names and shapes; each provider module turns its events
into a ``ProviderEvent`` (what to record) carrying at most one
``PaymentFact`` (what it says about a payment). The payment's state is then
derived from its facts alone (``state.py``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Lifecycle = Literal["pending", "authorised", "succeeded", "failed", "canceled"]
RefundStatus = Literal["pending", "succeeded", "failed", "canceled"]
DisputeStatus = Literal["open", "lost", "won"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RefundFact(_Frozen):
    """One refund of a payment, as one event saw it."""

    refund_id: str = Field(min_length=1)
    status: RefundStatus
    amount_minor: int | None = Field(default=None, ge=0)
    # When the provider created the refund (Stripe's ``created``), if it says.
    created_at: AwareDatetime | None = None


class DisputeFact(_Frozen):
    """One dispute (chargeback) of a payment, as one event saw it."""

    dispute_id: str = Field(min_length=1)
    status: DisputeStatus


class PaymentFact(_Frozen):
    """What one provider event says about one payment.

    ``amount_minor`` is the payment's own amount (never a refund's), in the
    currency's minor units. ``refunded_total_minor`` is a running total the
    provider reports (Stripe's ``amount_refunded``): what its refunds added up
    to at ``occurred_at``.
    """

    provider: str = Field(min_length=1)
    provider_reference: str = Field(min_length=1)
    event_id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    occurred_at: AwareDatetime
    lifecycle: Lifecycle | None = None
    amount_minor: int | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    customer_id: str | None = Field(default=None, min_length=1)
    refunds: tuple[RefundFact, ...] = ()
    refunded_total_minor: int | None = Field(default=None, ge=0)
    dispute: DisputeFact | None = None

    @property
    def payment_key(self) -> str:
        """The key of the payment: ``<provider>:<provider reference>``."""
        return payment_key(self.provider, self.provider_reference)


class ProviderEvent(_Frozen):
    """One provider event, verified, as it is recorded.

    ``scope`` and ``event_key`` identify it among everything received:
    ``stripe`` and the event id, ``adyen`` and pspReference, eventCode and
    success, ``standard:<source>`` and the webhook id.
    """

    scope: str = Field(min_length=1)
    event_key: str = Field(min_length=1)
    event_type: str
    raw: bytes
    fact: PaymentFact | None = None
    # Set when a known type could not be read as a fact: the event is still
    # recorded, raw, for an operator, rather than refused for days of retries.
    fact_error: str | None = None


def payment_key(provider: str, provider_reference: str) -> str:
    """Return the key that names a payment across the product."""
    return f"{provider}:{provider_reference}"
