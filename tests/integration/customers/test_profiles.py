"""The customer API served for real: creating, reading and changing profiles."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from tests.integration.customers.conftest import (
    Api,
    Users,
    customer_body,
    unique_phone,
)

if TYPE_CHECKING:
    from google.cloud import firestore


def test_create_valid_profile_answers_201_with_etag(api: Api, users: Users) -> None:
    user = users.new()
    body = customer_body()

    response = api.create(user, body)

    assert response.status_code == 201
    profile = response.json()
    assert profile["id"] == user.uid
    assert profile["status"] == "pending_kyc"
    assert profile["given_name"] == "Zoë"
    assert profile["email"] == body["email"]
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Location"] == f"/v1/customers/{user.uid}"


def test_create_same_key_same_body_replays_first_answer(api: Api, users: Users) -> None:
    user = users.new()
    body = customer_body()

    first = api.create(user, body, key="key-1")
    again = api.create(user, body, key="key-1")

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_create_same_key_other_body_is_refused(api: Api, users: Users) -> None:
    user = users.new()
    api.create(user, customer_body(), key="key-1")

    response = api.create(user, customer_body(), key="key-1")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_create_without_idempotency_key_is_a_bad_request(
    api: Api, users: Users
) -> None:
    user = users.new()

    response = api.request(
        "POST", "/v1/customers", json=customer_body(), headers=user.headers()
    )

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"


def test_create_concurrent_duplicates_make_one_profile(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    user = users.new()
    body = customer_body()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: api.create(user, body, key="k"), range(6)))

    # The key's record commits with the profile: every other attempt fails
    # its batch on it and replays the first answer.
    assert [a.status_code for a in answers] == [201] * 6
    firsts = [a for a in answers if "Idempotent-Replayed" not in a.headers]
    assert len(firsts) == 1
    assert {a.headers["ETag"] for a in answers} == {firsts[0].headers["ETag"]}
    assert all(a.json() == firsts[0].json() for a in answers)
    profiles = list(firestore_client.collection("customers").stream())
    assert [p.id for p in profiles] == [user.uid]
    created = [
        e
        for e in firestore_client.collection("outbox").stream()
        if e.get("event_type") == "customer.profile.created"
    ]
    assert len(created) == 1


def test_create_replay_after_a_change_repeats_the_first_answer(
    api: Api, users: Users
) -> None:
    user = users.new()
    body = customer_body()
    first = api.create(user, body, key="key-1")
    changed = api.request(
        "PATCH",
        f"/v1/customers/{user.uid}",
        json={"email": f"changed.{uuid.uuid4().hex[:8]}@example.com"},
        headers=user.headers(**{"If-Match": first.headers["ETag"]}),
    )
    assert changed.status_code == 200

    replayed = api.create(user, body, key="key-1")

    assert replayed.status_code == 201
    assert replayed.json() == first.json()
    assert replayed.headers["ETag"] == first.headers["ETag"]
    assert replayed.headers["ETag"] != changed.headers["ETag"]
    assert replayed.headers["Location"] == first.headers["Location"]
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_create_refusal_is_the_key_outcome_and_replays(api: Api, users: Users) -> None:
    user = users.new()
    api.create(user, customer_body(), key="key-1")
    body = customer_body()

    refused = api.create(user, body, key="key-2")
    again = api.create(user, body, key="key-2")

    assert refused.status_code == 409
    assert refused.json()["code"] == "customer_exists"
    assert "Idempotent-Replayed" not in refused.headers
    assert again.status_code == 409
    assert again.json() == refused.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_create_second_profile_for_same_user_conflicts(api: Api, users: Users) -> None:
    user = users.new()
    api.create(user, customer_body())

    response = api.create(user, customer_body())

    assert response.status_code == 409
    assert response.json()["code"] == "customer_exists"


@pytest.mark.parametrize("field", ["email", "phone"])
def test_create_contact_of_another_customer_conflicts_naming_field(
    api: Api, users: Users, field: str
) -> None:
    first = customer_body()
    api.create(users.new(), first)
    body = customer_body(**{field: first[field]})
    if field == "email":
        body["email"] = first["email"].upper()

    response = api.create(users.new(), body)

    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == f"{field}_taken"
    assert [e["field"] for e in problem["errors"]] == [field]


def test_create_invalid_fields_are_each_listed(api: Api, users: Users) -> None:
    body = customer_body(
        given_name="R2-D2",
        email="not-an-address",
        phone="+44 12",
        date_of_birth="2015-02-30",
        country="XX",
        nickname="zed",
    )
    body["address"]["postal_code"] = "!!"

    response = api.create(users.new(), body)

    assert response.status_code == 422
    codes = {e["field"]: e["code"] for e in response.json()["errors"]}
    assert codes == {
        "given_name": "invalid_name",
        "email": "invalid_email",
        "phone": "invalid_phone",
        "date_of_birth": "invalid_date",
        "country": "invalid_country",
        "address.postal_code": "invalid_postal_code",
        "nickname": "extra_forbidden",
    }


@pytest.mark.parametrize(
    ("date_of_birth", "code"),
    [("2100-01-01", "date_in_future"), ("2015-06-01", "underage")],
)
def test_create_date_of_birth_must_be_an_adult_in_the_past(
    api: Api, users: Users, date_of_birth: str, code: str
) -> None:
    response = api.create(users.new(), customer_body(date_of_birth=date_of_birth))

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code


def test_create_coerces_nothing(api: Api, users: Users) -> None:
    body = customer_body(terms_version=3)

    response = api.create(users.new(), body)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "terms_version"


def test_get_other_customer_is_not_found_but_staff_reads_it(
    api: Api, users: Users
) -> None:
    owner = users.new()
    api.create(owner, customer_body())

    stranger = api.request(
        "GET", f"/v1/customers/{owner.uid}", headers=users.new().headers()
    )
    staff = api.request(
        "GET", f"/v1/customers/{owner.uid}", headers=users.new(staff=True).headers()
    )

    assert stranger.status_code == 404
    assert stranger.json()["code"] == "customer_not_found"
    assert staff.status_code == 200
    assert staff.json()["id"] == owner.uid


def test_patch_contact_fields_with_current_etag_changes_them(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    user = users.new()
    created = api.create(user, customer_body())
    new_email = f"new.{uuid.uuid4().hex[:8]}@example.com"

    response = api.request(
        "PATCH",
        f"/v1/customers/{user.uid}",
        json={"email": new_email, "address": customer_body()["address"]},
        headers=user.headers(**{"If-Match": created.headers["ETag"]}),
    )

    assert response.status_code == 200
    assert response.json()["email"] == new_email
    assert response.headers["ETag"] != created.headers["ETag"]
    # The old address is free again, for anyone.
    other = api.create(users.new(), customer_body(email=created.json()["email"]))
    assert other.status_code == 201
    updated = [
        e.to_dict() or {}
        for e in firestore_client.collection("outbox").stream()
        if e.get("event_type") == "customer.profile.updated"
    ]
    assert len(updated) == 1
    assert '"changed_fields":["email"]' in updated[0]["envelope"]


def test_patch_without_if_match_is_428_and_stale_is_412(api: Api, users: Users) -> None:
    user = users.new()
    created = api.create(user, customer_body())
    path = f"/v1/customers/{user.uid}"
    etag = created.headers["ETag"]
    api.request(
        "PATCH", path, json={"phone": "+447400000001"},
        headers=user.headers(**{"If-Match": etag}),
    )  # fmt: skip

    missing = api.request("PATCH", path, json={"phone": "+447400000002"},
                          headers=user.headers())  # fmt: skip
    stale = api.request(
        "PATCH", path, json={"phone": "+447400000002"},
        headers=user.headers(**{"If-Match": etag}),
    )  # fmt: skip

    assert missing.status_code == 428
    assert stale.status_code == 412
    assert stale.json()["code"] == "etag_mismatch"


def test_patch_racing_on_one_etag_lets_exactly_one_win(api: Api, users: Users) -> None:
    user = users.new()
    etag = api.create(user, customer_body()).headers["ETag"]

    def patch(index: int) -> int:
        body = {"address": customer_body()["address"] | {"line1": f"{index} Road"}}
        headers = user.headers(**{"If-Match": etag})
        path = f"/v1/customers/{user.uid}"
        return api.request("PATCH", path, json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(patch, range(4)))

    assert statuses == [200, 412, 412, 412]


def test_patch_names_are_not_contact_fields(api: Api, users: Users) -> None:
    user = users.new()
    etag = api.create(user, customer_body()).headers["ETag"]

    response = api.request(
        "PATCH",
        f"/v1/customers/{user.uid}",
        json={"given_name": "Mallory"},
        headers=user.headers(**{"If-Match": etag}),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "given_name",
        "code": "extra_forbidden",
        "message": "Extra inputs are not permitted",
    }


def test_patch_by_staff_on_someone_else_is_forbidden(api: Api, users: Users) -> None:
    owner = users.new()
    etag = api.create(owner, customer_body()).headers["ETag"]

    response = api.request(
        "PATCH",
        f"/v1/customers/{owner.uid}",
        json={"phone": "+447400000003"},
        headers=users.new(staff=True).headers(**{"If-Match": etag}),
    )

    assert response.status_code == 403
    assert response.json()["code"] == "owner_only"


def test_patch_to_another_customers_phone_conflicts_and_changes_nothing(
    api: Api, users: Users
) -> None:
    taken = customer_body()
    api.create(users.new(), taken)
    user = users.new()
    created = api.create(user, customer_body())
    path = f"/v1/customers/{user.uid}"

    response = api.request(
        "PATCH",
        path,
        json={"phone": taken["phone"]},
        headers=user.headers(**{"If-Match": created.headers["ETag"]}),
    )

    assert response.status_code == 409
    assert response.json()["code"] == "phone_taken"
    after = api.request("GET", path, headers=user.headers())
    assert after.json() == created.json()
    assert after.headers["ETag"] == created.headers["ETag"]


def test_create_reclaims_reservation_no_profile_uses(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    from common.customers.uniqueness import COLLECTION, value_key

    body = customer_body()
    firestore_client.collection(COLLECTION).document(
        value_key("email", body["email"])
    ).create({"kind": "email", "customer_id": "deleted", "at": datetime.now(UTC)})

    response = api.create(users.new(), body)

    assert response.status_code == 201


def test_patch_changes_profile_and_reservations_together(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    from common.customers.uniqueness import COLLECTION, value_key

    user = users.new()
    created = api.create(user, customer_body())
    old_phone, new_phone = created.json()["phone"], unique_phone()

    api.request(
        "PATCH",
        f"/v1/customers/{user.uid}",
        json={"phone": new_phone},
        headers=user.headers(**{"If-Match": created.headers["ETag"]}),
    )

    reservations = firestore_client.collection(COLLECTION)
    assert not reservations.document(value_key("phone", old_phone)).get().exists
    held = reservations.document(value_key("phone", new_phone)).get()
    assert held.get("customer_id") == user.uid
