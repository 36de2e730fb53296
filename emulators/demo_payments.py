"""The demo's payment step: a Stripe payment, refunded partly, then in full.

Each event is signed as Stripe signs it, with the demo secret the platform
hands `payment_webhooks` (emulators/demo_secrets.py), and posted through the
gateway like a provider would. After each, the customer reads the payment as
the app does, through `GET /v1/customers/{id}/payments`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.request
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from emulators.demo_secrets import secret_env, variable_name

if TYPE_CHECKING:
    from emulators.platform import Platform

AMOUNT_MINOR = 2500
STRIPE_SECRET = "stripe-webhook-secret"  # noqa: S105 - the secret's name


def run_payment_step(
    platform: Platform, customer_id: str, headers: Mapping[str, str]
) -> None:
    """Pay 25.00 EUR, refund 10.00, then the remaining 15.00; show the payment.

    ``headers`` authenticate the customer to the customer API. Skipped when
    the platform does not serve `payment_webhooks`.
    """
    if not any(f.name == "payment_webhooks" for f in platform.functions):
        return
    # Under `exec` the gateway may be on other ports than the defaults.
    gateway_url = os.environ.get("CRM_API_URL") or platform.config.url("gateway")
    print("- the customer pays with Stripe and is refunded in two steps")
    intent = f"pi_demo_{uuid.uuid4().hex[:12]}"
    events = [
        _charge_succeeded(intent, customer_id),
        _refund(intent, "re_demo_1", 1000),
        _refund(intent, "re_demo_2", 1500),
    ]
    for event in events:
        status = _post(gateway_url, event)
        print(f"    {event['type']}: {status}")
        _show_payment(gateway_url, customer_id, headers, intent)


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_demo_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "type": event_type,
    }


def _charge_succeeded(intent: str, customer_id: str) -> dict[str, Any]:
    return _event(
        "charge.succeeded",
        {
            "id": f"ch_demo_{intent[8:]}",
            "object": "charge",
            "amount": AMOUNT_MINOR,
            "captured": True,
            "currency": "eur",
            "metadata": {"customer_id": customer_id},
            "payment_intent": intent,
            "status": "succeeded",
        },
    )


def _refund(intent: str, refund_id: str, amount: int) -> dict[str, Any]:
    return _event(
        "refund.created",
        {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": "eur",
            "payment_intent": intent,
            "status": "succeeded",
        },
    )


def _post(gateway_url: str, event: dict[str, Any]) -> int:
    body = json.dumps(event, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - the local gateway
        f"{gateway_url}/v1/webhooks/stripe",
        data=body,
        headers={"Content-Type": "application/json", **_signature(body)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return int(response.status)


def _signature(body: bytes) -> dict[str, str]:
    # The demo value, or the caller's own, exactly as the function gets it.
    secret = secret_env([STRIPE_SECRET])[variable_name(STRIPE_SECRET)].split(",")[0]
    timestamp = str(int(time.time()))
    signed = timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={timestamp},v1={digest}"}


def _show_payment(
    gateway_url: str, customer_id: str, headers: Mapping[str, str], intent: str
) -> None:
    request = urllib.request.Request(  # noqa: S310 - the local gateway
        f"{gateway_url}/v1/customers/{customer_id}/payments", headers=dict(headers)
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        listed = json.load(response)["payments"]
    for payment in listed:
        if payment["provider_reference"] == intent:
            print(
                f"    the app lists it: {payment['status']}, "
                f"{payment['amount_minor']} {payment['currency']} minor units, "
                f"{payment['refunded_minor']} refunded"
            )
