"""A customer's payments through the customer API, as the webhooks store them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.integration.customers.conftest import Api, Users, customer_body

if TYPE_CHECKING:
    from google.cloud import firestore


def _payment(customer_id: str, reference: str, minutes_ago: int) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "provider": "stripe",
        "provider_reference": reference,
        "amount_minor": 2500,
        "currency": "EUR",
        "status": "succeeded",
        "refunded_minor": 0,
        "settlement": None,
        "updated_at": datetime.now(UTC) - timedelta(minutes=minutes_ago),
    }


def test_payments_of_new_customer_are_an_empty_list(api: Api, users: Users) -> None:
    user = users.new()
    api.create(user, customer_body())

    response = api.request(
        "GET", f"/v1/customers/{user.uid}/payments", headers=user.headers()
    )

    assert response.status_code == 200
    assert response.json() == {"payments": []}


def test_payments_are_the_customers_own_newest_first(
    api: Api, users: Users, firestore_client: firestore.Client
) -> None:
    user, other = users.new(), users.new()
    api.create(user, customer_body())
    payments = firestore_client.collection("payments")
    payments.document("stripe:pi_old").set(_payment(user.uid, "pi_old", 30))
    payments.document("stripe:pi_new").set(_payment(user.uid, "pi_new", 1))
    payments.document("stripe:pi_other").set(_payment(other.uid, "pi_other", 5))

    response = api.request(
        "GET", f"/v1/customers/{user.uid}/payments", headers=user.headers()
    )

    listed = response.json()["payments"]
    assert [p["provider_reference"] for p in listed] == ["pi_new", "pi_old"]
    assert listed[0]["amount_minor"] == 2500
    assert listed[0]["currency"] == "EUR"


def test_payments_of_another_customer_are_not_found(api: Api, users: Users) -> None:
    user = users.new()
    api.create(user, customer_body())

    response = api.request(
        "GET", f"/v1/customers/{user.uid}/payments", headers=users.new().headers()
    )

    assert response.status_code == 404
