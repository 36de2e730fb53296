"""Listing: a customer's payments as the app shows them, newest first.

The contract between the webhook side that writes payments and the customer
API that reads them: collection `payments`, one document per payment with
the members of `PaymentView` plus `customer_id`, queried by customer id and
`updated_at` descending (the composite index is in firestore.indexes.json).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common.errors import google_errors
from common.payments.events import PaymentStatus

if TYPE_CHECKING:
    from google.cloud import firestore

COLLECTION: Final = "payments"
MAX_LISTED: Final = 100


class PaymentView(BaseModel):
    """One payment, as `GET /v1/customers/{id}/payments` answers it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    provider: str
    provider_reference: str
    amount_minor: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: PaymentStatus
    refunded_minor: int = Field(ge=0)
    settlement: dict[str, Any] | None = None
    updated_at: AwareDatetime


def list_customer_payments(
    client: firestore.Client, customer_id: str, limit: int = MAX_LISTED
) -> list[PaymentView]:
    """Return the customer's payments, the most recently updated first.

    Raises:
        UnavailableError: Firestore did not answer; a retry may succeed.
    """
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = (
        client.collection(COLLECTION)
        .where(filter=FieldFilter("customer_id", "==", customer_id))
        .order_by("updated_at", direction="DESCENDING")
        .limit(limit)
    )
    with google_errors():
        snapshots = list(query.stream())
    return [PaymentView.model_validate(s.to_dict() or {}) for s in snapshots]
