"""KYC events: document checks and decisions, published on `kyc-events`.

The subject of each event is the customer id. No document number, MRZ line,
name or date of birth is ever part of an event: only the document's id, type,
status and reason codes.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TOPIC: Final = "kyc-events"
DOCUMENT_ANNOUNCED: Final = "kyc.document.announced"
DOCUMENT_VERIFIED: Final = "kyc.document.verified"
DOCUMENT_FLAGGED: Final = "kyc.document.flagged"
DOCUMENT_REJECTED: Final = "kyc.document.rejected"

DocumentType = Literal["passport", "national_id", "driving_licence", "proof_of_address"]
DocumentStatus = Literal[
    "awaiting_upload", "processing", "verified", "needs_review", "rejected"
]
# The event type that announces each decided status.
DECISION_EVENT_TYPES: Final[dict[str, str]] = {
    "verified": DOCUMENT_VERIFIED,
    "needs_review": DOCUMENT_FLAGGED,
    "rejected": DOCUMENT_REJECTED,
}


class KycDocumentData(BaseModel):
    """A document's state after an announcement, a check or a decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str = Field(min_length=1)
    document_id: str = Field(min_length=1)
    document_type: DocumentType
    status: DocumentStatus
    reasons: tuple[str, ...] = ()
    decided_by: Literal["automatic", "staff"] | None = None
    announced_at: AwareDatetime
    decided_at: AwareDatetime | None = None


EVENT_SCHEMAS: dict[tuple[str, int], type[BaseModel]] = {
    (DOCUMENT_ANNOUNCED, 1): KycDocumentData,
    (DOCUMENT_VERIFIED, 1): KycDocumentData,
    (DOCUMENT_FLAGGED, 1): KycDocumentData,
    (DOCUMENT_REJECTED, 1): KycDocumentData,
}
