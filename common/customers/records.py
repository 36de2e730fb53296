"""Records: how customers and their documents are kept in Firestore.

`customers/{uid}` holds the profile; `customers/{uid}/documents/{id}` each
announced KYC document. Every record names the request that wrote it last
(`written_by`), so that it can be traced.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from common.customers import events
from common.customers.models import (
    CustomerCreate,
    CustomerProfile,
    DocumentAnnouncement,
    DocumentView,
)
from common.customers.pii import keyed_hash
from common.customers.uniqueness import value_key
from common.kyc.events import KycDocumentData

if TYPE_CHECKING:
    from google.cloud import firestore

CUSTOMERS: Final = "customers"
DOCUMENTS: Final = "documents"
IDENTITY_DOCUMENTS: Final = frozenset({"passport", "national_id", "driving_licence"})


def customer_ref(
    client: firestore.Client, customer_id: str
) -> firestore.DocumentReference:
    """The profile document of a customer."""
    ref: firestore.DocumentReference = client.collection(CUSTOMERS).document(
        customer_id
    )
    return ref


def document_ref(
    client: firestore.Client, customer_id: str, document_id: str
) -> firestore.DocumentReference:
    """One KYC document of a customer."""
    documents = customer_ref(client, customer_id).collection(DOCUMENTS)
    ref: firestore.DocumentReference = documents.document(document_id)
    return ref


def new_profile(
    customer_id: str, body: CustomerCreate, request_id: str, now: datetime
) -> dict[str, Any]:
    """The stored form of a new profile."""
    stored = body.model_dump(mode="json")
    return stored | {
        "id": customer_id,
        "status": "pending_kyc",
        "email_key": value_key("email", body.email),
        "phone_key": value_key("phone", body.phone),
        "created_at": now,
        "updated_at": now,
        "written_by": request_id,
    }


def profile(stored: dict[str, Any]) -> CustomerProfile:
    """The profile as the API answers it."""
    return CustomerProfile.model_validate(stored)


def profile_event_data(stored: dict[str, Any]) -> dict[str, Any]:
    """The event data of a profile: no names, no date of birth, hashed contacts."""
    data = events.CustomerProfileData(
        customer_id=stored["id"],
        status=stored["status"],
        country=stored["country"],
        address_country=stored["address"]["country"],
        terms_version=stored["terms_version"],
        email_hash=keyed_hash("email", stored["email"]),
        phone_hash=keyed_hash("phone", stored["phone"]),
        created_at=stored["created_at"],
        updated_at=stored["updated_at"],
    )
    return data.model_dump(mode="json")


def new_document(
    customer_id: str,
    document_id: str,
    body: DocumentAnnouncement,
    bucket: str,
    request_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The stored form of an announced document; the MRZ stays here only."""
    return {
        "document_id": document_id,
        "customer_id": customer_id,
        "type": body.type,
        "content_type": body.content_type,
        "size_bytes": body.size_bytes,
        "mrz": body.mrz,
        "bucket": bucket,
        "object_name": f"customers/{customer_id}/{document_id}",
        "status": "awaiting_upload",
        "reasons": [],
        "created_at": now,
        "decided_at": None,
        "decided_by": None,
        "written_by": request_id,
    }


def document_view(stored: dict[str, Any]) -> DocumentView:
    """A document as the API answers it."""
    return DocumentView.model_validate(stored)


def document_event_data(stored: dict[str, Any]) -> dict[str, Any]:
    """The event data of a document: ids, type, status, reasons, times."""
    data = KycDocumentData(
        customer_id=stored["customer_id"],
        document_id=stored["document_id"],
        document_type=stored["type"],
        status=stored["status"],
        reasons=tuple(stored.get("reasons") or ()),
        decided_by=stored.get("decided_by"),
        announced_at=stored["created_at"],
        decided_at=stored.get("decided_at"),
    )
    return data.model_dump(mode="json")
