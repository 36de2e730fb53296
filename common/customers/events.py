"""Customer events: what `customers` publishes on `customer-events`.

The subject of each event is the customer id. Events carry no direct personal
data: e-mail and phone travel only as keyed hashes (HMAC-SHA256 under the
secret `customer-pii-hash-key`), names and the date of birth not at all, so
that neither BigQuery nor a dead letter ever holds them.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TOPIC: Final = "customer-events"
PROFILE_CREATED: Final = "customer.profile.created"
PROFILE_UPDATED: Final = "customer.profile.updated"
STATUS_CHANGED: Final = "customer.status.changed"

CustomerStatus = Literal["pending_kyc", "active", "rejected", "suspended"]


class _EventData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerProfileData(_EventData):
    """The profile as analysts may see it, after the change."""

    customer_id: str = Field(min_length=1)
    status: CustomerStatus
    country: str = Field(pattern=r"^[A-Z]{2}$")
    address_country: str = Field(pattern=r"^[A-Z]{2}$")
    terms_version: str = Field(min_length=1)
    email_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    phone_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    created_at: AwareDatetime
    updated_at: AwareDatetime


class CustomerProfileUpdatedData(CustomerProfileData):
    """The profile after a change, with the names of the fields changed."""

    changed_fields: tuple[str, ...] = Field(min_length=1)


class CustomerStatusChangedData(_EventData):
    """A move of the customer's status, with who decided it and why."""

    customer_id: str = Field(min_length=1)
    previous_status: CustomerStatus
    status: CustomerStatus
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    decided_by: Literal["kyc", "staff"]
    changed_at: AwareDatetime


EVENT_SCHEMAS: dict[tuple[str, int], type[BaseModel]] = {
    (PROFILE_CREATED, 1): CustomerProfileData,
    (PROFILE_UPDATED, 1): CustomerProfileUpdatedData,
    (STATUS_CHANGED, 1): CustomerStatusChangedData,
}
