"""A payment that arrives by webhook, as the customer API then lists it."""

from __future__ import annotations

import uuid

import requests

from emulators.platform import Platform
from tests.integration.customers.conftest import Api, Users, customer_body
from tests.payment_samples import body_of, stripe_event, stripe_headers


def _pay(platform: Platform, customer_id: str, intent: str, **fields: object) -> None:
    metadata = {"customer_id": customer_id}
    _deliver(platform, "charge.succeeded", intent, metadata=metadata, **fields)


def _refund(platform: Platform, intent: str, amount: int) -> None:
    refund_id = f"re_{uuid.uuid4().hex[:12]}"
    _deliver(platform, "refund.created", intent, id=refund_id, amount=amount)


def _deliver(platform: Platform, name: str, intent: str, **fields: object) -> None:
    event = stripe_event(name, f"evt_{uuid.uuid4().hex[:16]}", intent, **fields)
    body = body_of(event)
    response = requests.post(
        platform.config.url("gateway") + "/v1/webhooks/stripe",
        data=body,
        headers=stripe_headers(body),
        timeout=30,
    )
    assert response.status_code == 200


def test_webhook_payment_is_listed_with_its_refunds_newest_first(
    platform: Platform, api: Api, users: Users
) -> None:
    user = users.new()
    api.create(user, customer_body())
    _pay(platform, user.uid, "pi_webhook_first")
    _pay(platform, user.uid, "pi_webhook_second", amount=1000, currency="jpy")
    _refund(platform, "pi_webhook_first", 1000)

    response = api.request(
        "GET", f"/v1/customers/{user.uid}/payments", headers=user.headers()
    )

    assert response.status_code == 200
    listed = response.json()["payments"]
    assert [p["provider_reference"] for p in listed] == [
        "pi_webhook_first",
        "pi_webhook_second",
    ]
    first, second = listed
    assert (first["status"], first["refunded_minor"]) == ("partially_refunded", 1000)
    assert (second["amount_minor"], second["currency"]) == (1000, "JPY")
