"""Documents: KYC documents announced by the app, and staff decisions on them.

A document is announced (`awaiting_upload`) with a signed URL to upload it;
the `kyc_documents` function checks the upload and sets `processing`,
`verified`, `needs_review` or `rejected`; staff decide those that need a
review. A decision on an identity document moves a `pending_kyc` customer to
`active` or `rejected` (PRODUCT.md). The document, the customer and their
events commit in one batch, each write conditional on the version read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from common.customers import events, records
from common.customers.events import CustomerStatus
from common.customers.models import (
    DocumentAnnouncement,
    DocumentUpload,
    DocumentView,
    KycDecision,
)
from common.customers.profiles import customer_not_found, outbox, publish_committed
from common.customers.uploads import signed_upload
from common.errors import ConflictError, NotFoundError, google_errors
from common.events import EventEnvelope, new_event
from common.kyc import events as kyc_events

if TYPE_CHECKING:
    from google.cloud import firestore

KYC_BUCKET: Final = "kyc-uploads"
REVIEWABLE: Final = "needs_review"
DECIDED_STATUS: Final = {"approve": "verified", "reject": "rejected"}
CUSTOMER_STATUS_AFTER: Final[dict[str, CustomerStatus]] = {
    "approve": "active",
    "reject": "rejected",
}


@dataclass(frozen=True)
class Decided:
    """A document after a decision, and its customer's status."""

    document: DocumentView
    customer_status: str


def announce_document(
    client: firestore.Client,
    customer_id: str,
    body: DocumentAnnouncement,
    request_id: str,
    now: datetime,
) -> DocumentUpload:
    """Record an announced document and sign the URL that uploads it.

    Raises:
        NotFoundError: the customer has no profile yet.
    """
    from common.settings import get_settings

    _require_customer(client, customer_id)
    document_id = uuid.uuid4().hex
    bucket = get_settings().bucket_name(KYC_BUCKET)
    stored = records.new_document(
        customer_id, document_id, body, bucket, request_id, now
    )
    event = _document_event(kyc_events.DOCUMENT_ANNOUNCED, stored, now)

    batch = client.batch()
    batch.create(records.document_ref(client, customer_id, document_id), stored)
    outbox().stage(batch, kyc_events.TOPIC, event)
    with google_errors():
        batch.commit()
    publish_committed([(kyc_events.TOPIC, event)])

    upload = signed_upload(
        bucket, stored["object_name"], body.content_type, body.size_bytes, now
    )
    return DocumentUpload(
        document_id=document_id,
        upload_url=upload.url,
        upload_headers=upload.headers,
        expires_at=upload.expires_at,
    )


def list_documents(client: firestore.Client, customer_id: str) -> list[DocumentView]:
    """Return the customer's documents, the oldest first."""
    _require_customer(client, customer_id)
    query = (
        records.customer_ref(client, customer_id)
        .collection(records.DOCUMENTS)
        .order_by("created_at")
    )
    with google_errors():
        snapshots = list(query.stream())
    return [records.document_view(s.to_dict() or {}) for s in snapshots]


def decide_document(
    client: firestore.Client,
    customer_id: str,
    body: KycDecision,
    request_id: str,
    now: datetime,
) -> Decided:
    """Apply a staff decision to a document that needs a review.

    The same decision sent again answers the decided document unchanged.

    Raises:
        NotFoundError: no such customer or document.
        ConflictError: the document is not awaiting a review, or another
            decision was taken at the same moment (409).
    """
    customer, document = _read_pair(client, customer_id, body.document_id)
    stored = document.to_dict() or {}
    customer_stored = customer.to_dict() or {}
    target = DECIDED_STATUS[body.decision]
    if stored.get("status") == target and stored.get("decided_by") == "staff":
        return Decided(records.document_view(stored), customer_stored["status"])
    if stored.get("status") != REVIEWABLE:
        raise ConflictError(
            "The document is not awaiting a review.", code="document_not_reviewable"
        )

    decided = stored | {
        "status": target,
        "reasons": [body.reason],
        "decided_at": now,
        "decided_by": "staff",
        "written_by": request_id,
    }
    batch = client.batch()
    staged = _stage_document(client, batch, document, decided, now)
    status = _stage_customer(
        client, batch, customer, stored["type"], body, request_id, now
    )
    _commit_decision(batch)
    publish_committed([*staged, *status.events])
    return Decided(records.document_view(decided), status.status)


@dataclass(frozen=True)
class _StatusChange:
    status: str
    events: list[tuple[str, EventEnvelope]]


def _read_pair(
    client: firestore.Client, customer_id: str, document_id: str
) -> tuple[firestore.DocumentSnapshot[Any], firestore.DocumentSnapshot[Any]]:
    with google_errors():
        customer = records.customer_ref(client, customer_id).get()
        document = records.document_ref(client, customer_id, document_id).get()
    if not customer.exists:
        raise customer_not_found()
    if not document.exists:
        raise NotFoundError("No such document.", code="document_not_found")
    return customer, document


def _stage_document(
    client: firestore.Client,
    batch: firestore.WriteBatch,
    document: firestore.DocumentSnapshot[Any],
    decided: dict[str, Any],
    now: datetime,
) -> list[tuple[str, EventEnvelope]]:
    option = client.write_option(last_update_time=document.update_time)
    changes = {
        key: decided[key]
        for key in ("status", "reasons", "decided_at", "decided_by", "written_by")
    }
    batch.update(document.reference, changes, option=option)
    event_type = kyc_events.DECISION_EVENT_TYPES[decided["status"]]
    event = _document_event(event_type, decided, now)
    outbox().stage(batch, kyc_events.TOPIC, event)
    return [(kyc_events.TOPIC, event)]


def _stage_customer(
    client: firestore.Client,
    batch: firestore.WriteBatch,
    customer: firestore.DocumentSnapshot[Any],
    document_type: str,
    body: KycDecision,
    request_id: str,
    now: datetime,
) -> _StatusChange:
    stored = customer.to_dict() or {}
    previous = stored["status"]
    moves = document_type in records.IDENTITY_DOCUMENTS and previous == "pending_kyc"
    if not moves:
        return _StatusChange(previous, [])

    status = CUSTOMER_STATUS_AFTER[body.decision]
    option = client.write_option(last_update_time=customer.update_time)
    changes = {"status": status, "updated_at": now, "written_by": request_id}
    batch.update(customer.reference, changes, option=option)
    data = events.CustomerStatusChangedData(
        customer_id=stored["id"],
        previous_status=previous,
        status=status,
        reason=body.reason,
        decided_by="staff",
        changed_at=now,
    )
    event = new_event(
        events.STATUS_CHANGED,
        stored["id"],
        data.model_dump(mode="json"),
        occurred_at=now,
    )
    outbox().stage(batch, events.TOPIC, event)
    return _StatusChange(status, [(events.TOPIC, event)])


def _commit_decision(batch: firestore.WriteBatch) -> None:
    from google.api_core.exceptions import FailedPrecondition

    with google_errors():
        try:
            batch.commit()
        except FailedPrecondition as exc:
            raise ConflictError(
                "The document or the customer changed during the decision; "
                "read them again.",
                code="decision_conflict",
            ) from exc


def _document_event(
    event_type: str, stored: dict[str, Any], now: datetime
) -> EventEnvelope:
    return new_event(
        event_type,
        stored["customer_id"],
        records.document_event_data(stored),
        occurred_at=now,
    )


def _require_customer(client: firestore.Client, customer_id: str) -> None:
    with google_errors():
        exists = records.customer_ref(client, customer_id).get().exists
    if not exists:
        raise customer_not_found()
