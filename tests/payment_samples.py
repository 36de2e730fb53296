"""Payment webhook samples, and signing them with the providers' own libraries."""

from __future__ import annotations

import copy
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import Adyen.util
import standardwebhooks
import stripe

SAMPLES = Path(__file__).parent / "samples" / "payments"
STRIPE_SECRET = "whsec_local_demo_stripe_secret"
ADYEN_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
STANDARD_SECRET = "whsec_bG9jYWwtZGVtby1zdGFuZGFyZC13ZWJob29rcw=="
STANDARD_SOURCE = "ledgerline"


def sample(name: str) -> dict[str, Any]:
    """Return a copy of `samples/payments/<name>.json`."""
    return copy.deepcopy(json.loads((SAMPLES / f"{name}.json").read_text()))


def stripe_event(
    name: str,
    event_id: str | None = None,
    intent: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Stripe sample with its event id, PaymentIntent and object fields set."""
    event = sample(f"stripe/{name}")
    if event_id is not None:
        event["id"] = event_id
    obj = event["data"]["object"]
    if intent is not None:
        if obj["object"] == "payment_intent":
            obj["id"] = intent
        else:
            obj["payment_intent"] = intent
    obj.update(fields)
    return event


def stripe_headers(
    body: bytes, secret: str = STRIPE_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Sign a body as Stripe does, with the official package."""
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp or int(time.time())
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def adyen_signed(items: list[dict[str, Any]], key: str = ADYEN_KEY) -> dict[str, Any]:
    """A batch of items, each signed as Adyen does, with the official package."""
    wrapped = []
    for item in items:
        signed = copy.deepcopy(item)
        unsigned = {k: v for k, v in signed.items() if k != "additionalData"}
        signature = Adyen.util.generate_notification_sig(unsigned, key).decode()
        signed.setdefault("additionalData", {})["hmacSignature"] = signature
        wrapped.append({"NotificationRequestItem": signed})
    return {"live": "false", "notificationItems": wrapped}


def adyen_item(name: str, **fields: Any) -> dict[str, Any]:
    """The first item of an Adyen sample, with fields replaced."""
    item: dict[str, Any] = sample(f"adyen/{name}")["notificationItems"][0][
        "NotificationRequestItem"
    ]
    item.update(fields)
    return item


def standard_headers(
    body: bytes,
    message_id: str,
    secret: str = STANDARD_SECRET,
    timestamp: int | None = None,
) -> dict[str, str]:
    """Sign a body as the Standard Webhooks reference library does."""
    when = datetime.fromtimestamp(timestamp or int(time.time()), tz=UTC)
    signature = standardwebhooks.Webhook(secret).sign(message_id, when, body.decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def body_of(document: dict[str, Any]) -> bytes:
    """Serialise a payload the way providers do: compact JSON."""
    return json.dumps(document, separators=(",", ":")).encode()
