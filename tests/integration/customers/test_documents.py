"""KYC documents through the customer API: announce, upload, list, decide."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulators.platform import Platform
from tests.integration.customers.conftest import Api, User, Users, customer_body

if TYPE_CHECKING:
    from google.cloud import firestore

PASSPORT = {"type": "passport", "content_type": "image/png", "size_bytes": 68}
TD3_MRZ = [
    "P<GBRNAKAMURA<<ZOE<<<<<<<<<<<<<<<<<<<<<<<<<<",
    "1234567897GBR9004171F3001014<<<<<<<<<<<<<<02",
]


def _customer(api: Api, users: Users) -> User:
    user = users.new()
    assert api.create(user, customer_body()).status_code == 201
    return user


def _announce(api: Api, user: User, body: dict[str, Any]) -> requests.Response:
    return api.request(
        "POST", f"/v1/customers/{user.uid}/documents", json=body, headers=user.headers()
    )


def test_announce_document_answers_a_bound_signed_put_url(
    api: Api, users: Users
) -> None:
    user = _customer(api, users)

    response = _announce(api, user, PASSPORT | {"mrz": TD3_MRZ})

    assert response.status_code == 201
    upload = response.json()
    url = urlsplit(upload["upload_url"])
    query = parse_qs(url.query)
    assert url.path.endswith(f"/customers/{user.uid}/{upload['document_id']}")
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Expires"] == ["900"]
    signed = query["X-Goog-SignedHeaders"][0].split(";")
    assert {"content-type", "host", "x-goog-content-length-range"} <= set(signed)
    assert upload["upload_headers"] == {
        "Content-Type": "image/png",
        "x-goog-content-length-range": "68,68",
    }
    expires = datetime.fromisoformat(upload["expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)


def test_upload_through_signed_url_lands_in_kyc_bucket(
    api: Api, users: Users, platform: Platform
) -> None:
    from common.clients import storage_client

    user = _customer(api, users)
    upload = _announce(api, user, PASSPORT).json()
    content = b"\x89PNG\r\n\x1a\n" + bytes(60)

    put = requests.put(
        upload["upload_url"], data=content, headers=upload["upload_headers"], timeout=30
    )

    assert put.status_code == 200
    bucket = storage_client().bucket(f"{platform.config.project_id}-kyc-uploads")
    blob = bucket.get_blob(f"customers/{user.uid}/{upload['document_id']}")
    assert blob is not None
    assert blob.download_as_bytes() == content
    assert blob.content_type == "image/png"


def test_list_documents_shows_announced_document_without_mrz(
    api: Api, users: Users
) -> None:
    user = _customer(api, users)
    document_id = _announce(api, user, PASSPORT | {"mrz": TD3_MRZ}).json()[
        "document_id"
    ]

    response = api.request(
        "GET", f"/v1/customers/{user.uid}/documents", headers=user.headers()
    )

    assert response.status_code == 200
    [document] = response.json()["documents"]
    assert document["document_id"] == document_id
    assert document["status"] == "awaiting_upload"
    assert document["reasons"] == []
    assert document["decided_at"] is None
    assert TD3_MRZ[1] not in response.text


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"size_bytes": 10 * 1024 * 1024 + 1}, "size_bytes", "less_than_equal"),
        ({"size_bytes": 0}, "size_bytes", "greater_than_equal"),
        ({"content_type": "image/gif"}, "content_type", "literal_error"),
        ({"type": "selfie"}, "type", "literal_error"),
        ({"mrz": ["TOO<SHORT"]}, "mrz", "invalid_mrz"),
        ({"mrz": [TD3_MRZ[0], TD3_MRZ[1].lower()]}, "mrz", "invalid_mrz"),
    ],
)
def test_announce_invalid_document_is_422_naming_field(
    api: Api, users: Users, change: dict[str, Any], field: str, code: str
) -> None:
    user = _customer(api, users)

    response = _announce(api, user, PASSPORT | change)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["errors"][0]["code"] == code


def test_announce_before_profile_or_for_another_is_404(api: Api, users: Users) -> None:
    without_profile = users.new()
    someone = _customer(api, users)

    own = _announce(api, without_profile, PASSPORT)
    other = api.request(
        "POST",
        f"/v1/customers/{someone.uid}/documents",
        json=PASSPORT,
        headers=without_profile.headers(),
    )

    assert own.status_code == 404
    assert other.status_code == 404


def _needs_review(
    firestore_client: firestore.Client, user: User, document_id: str
) -> None:
    # What kyc_documents writes when its checks are inconclusive.
    firestore_client.collection("customers").document(user.uid).collection(
        "documents"
    ).document(document_id).update(
        {"status": "needs_review", "reasons": ["mrz_unreadable"]}
    )


def _decide(
    api: Api, caller: User, customer: User, document_id: str, decision: str
) -> requests.Response:
    return api.request(
        "POST",
        f"/v1/customers/{customer.uid}/kyc-decisions",
        json={
            "document_id": document_id,
            "decision": decision,
            "reason": "manual_check_passed",
        },
        headers=caller.headers(),
    )


def _event_types(firestore_client: firestore.Client) -> list[str]:
    return sorted(
        e.get("event_type") for e in firestore_client.collection("outbox").stream()
    )


def test_staff_approval_verifies_document_and_activates_customer(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    customer = _customer(api, users)
    staff = users.new(staff=True)
    document_id = _announce(api, customer, PASSPORT).json()["document_id"]
    _needs_review(firestore_client, customer, document_id)

    response = _decide(api, staff, customer, document_id, "approve")

    assert response.status_code == 200
    decided = response.json()
    assert decided["customer_status"] == "active"
    assert decided["document"]["status"] == "verified"
    assert decided["document"]["reasons"] == ["manual_check_passed"]
    profile = api.request(
        "GET", f"/v1/customers/{customer.uid}", headers=customer.headers()
    )
    assert profile.json()["status"] == "active"
    assert _event_types(firestore_client) == [
        "customer.profile.created",
        "customer.status.changed",
        "kyc.document.announced",
        "kyc.document.verified",
    ]


def test_staff_decision_sent_twice_changes_nothing_more(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    customer = _customer(api, users)
    staff = users.new(staff=True)
    document_id = _announce(api, customer, PASSPORT).json()["document_id"]
    _needs_review(firestore_client, customer, document_id)
    first = _decide(api, staff, customer, document_id, "reject")
    events = _event_types(firestore_client)

    again = _decide(api, staff, customer, document_id, "reject")
    opposite = _decide(api, staff, customer, document_id, "approve")

    assert first.json()["customer_status"] == "rejected"
    assert again.status_code == 200
    assert again.json() == first.json()
    assert opposite.status_code == 409
    assert opposite.json()["code"] == "document_not_reviewable"
    assert _event_types(firestore_client) == events


def test_decision_on_document_not_in_review_conflicts(api: Api, users: Users) -> None:
    customer = _customer(api, users)
    document_id = _announce(api, customer, PASSPORT).json()["document_id"]

    response = _decide(api, users.new(staff=True), customer, document_id, "approve")

    assert response.status_code == 409
    assert response.json()["code"] == "document_not_reviewable"


def test_decision_by_non_staff_is_refused(api: Api, users: Users) -> None:
    customer = _customer(api, users)
    document_id = _announce(api, customer, PASSPORT).json()["document_id"]

    own = _decide(api, customer, customer, document_id, "approve")
    stranger = _decide(api, users.new(), customer, document_id, "approve")

    assert own.status_code == 403
    assert own.json()["code"] == "staff_only"
    assert stranger.status_code == 404
