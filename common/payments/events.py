"""Payment events: each change to a payment, published on `payment-events`.

The subject is the payment key (`<provider>:<provider reference>`). Every
event carries the payment's whole state after the change, so a consumer that
sees events out of order can keep the latest by `updated_at` alone. The event
type names the status the payment moved to.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TOPIC: Final = "payment-events"

PaymentStatus = Literal[
    "pending",
    "authorised",
    "succeeded",
    "failed",
    "canceled",
    "refunded",
    "partially_refunded",
    "disputed",
]
# The event type announcing a payment's move to each status.
STATUS_EVENT_TYPES: Final[dict[str, str]] = {
    "pending": "payment.charge.created",
    "authorised": "payment.charge.authorised",
    "succeeded": "payment.charge.succeeded",
    "failed": "payment.charge.failed",
    "canceled": "payment.charge.canceled",
    "refunded": "payment.charge.refunded",
    "partially_refunded": "payment.charge.partially_refunded",
    "disputed": "payment.charge.disputed",
}


class PaymentChangedData(BaseModel):
    """A payment's state after one provider event changed it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payment_key: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    provider_reference: str = Field(min_length=1)
    customer_id: str | None = None
    amount_minor: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: PaymentStatus
    refunded_minor: int = Field(ge=0)
    disputed: bool = False
    provider_event_id: str = Field(min_length=1)
    provider_event_type: str = Field(min_length=1)
    updated_at: AwareDatetime


EVENT_SCHEMAS: dict[tuple[str, int], type[BaseModel]] = {
    (event_type, 1): PaymentChangedData for event_type in STATUS_EVENT_TYPES.values()
}
