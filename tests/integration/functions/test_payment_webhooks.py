"""`payment_webhooks` served for real: verified, recorded once, normalised."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests
from google.cloud import pubsub_v1

from common.payments.listing import list_customer_payments
from emulators.platform import Platform
from tests.payment_samples import (
    STANDARD_SOURCE,
    adyen_item,
    adyen_signed,
    body_of,
    sample,
    standard_headers,
    stripe_event,
    stripe_headers,
)

if TYPE_CHECKING:
    from google.cloud import firestore


def _url(platform: Platform, path: str) -> str:
    function = platform.catalog.function("payment_webhooks")  # type: ignore[union-attr]
    return platform.function_url(function) + path


def _post_stripe(
    platform: Platform, event: dict[str, Any], **signing: Any
) -> requests.Response:
    body = body_of(event)
    return requests.post(
        _url(platform, "/v1/webhooks/stripe"),
        data=body,
        headers=stripe_headers(body, **signing),
        timeout=30,
    )


def _post_adyen(platform: Platform, batch: dict[str, Any]) -> requests.Response:
    return requests.post(
        _url(platform, "/v1/webhooks/adyen"),
        data=body_of(batch),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def _documents(client: firestore.Client, collection: str) -> list[dict[str, Any]]:
    return [s.to_dict() or {} for s in client.collection(collection).stream()]


def _payment(client: firestore.Client, intent: str) -> dict[str, Any]:
    found = [
        p for p in _documents(client, "payments") if p["provider_reference"] == intent
    ]
    assert len(found) == 1, f"expected one payment {intent}, found {len(found)}"
    return found[0]


def _nothing_written(client: firestore.Client) -> bool:
    return all(
        not _documents(client, name)
        for name in ("payments", "payment_provider_events", "outbox")
    )


def _intent() -> str:
    return f"pi_{uuid.uuid4().hex[:20]}"


def test_payment_webhooks_stripe_charge_is_recorded_and_listed(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    intent = _intent()
    response = _post_stripe(platform, stripe_event("charge.succeeded", "evt_a", intent))

    assert response.status_code == 200
    assert response.json() == {"received": True, "recorded": 1, "duplicates": 0}
    payment = _payment(firestore_client, intent)
    assert (payment["status"], payment["amount_minor"]) == ("succeeded", 2500)
    (record,) = _documents(firestore_client, "payment_provider_events")
    assert record["event_key"] == "evt_a"
    assert json.loads(record["raw"])["id"] == "evt_a"
    (listed,) = list_customer_payments(firestore_client, "cust-7f3a9c")
    assert (listed.provider, listed.provider_reference) == ("stripe", intent)
    assert (listed.currency, listed.refunded_minor) == ("EUR", 0)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b, h: (b.replace(b"2500", b"9500"), h), id="tampered"),
        pytest.param(lambda b, h: (b, {}), id="no-header"),
        pytest.param(
            lambda b, h: (b, {"Stripe-Signature": "t=1,v1=00"}), id="malformed"
        ),
    ],
)
def test_payment_webhooks_bad_stripe_signature_answers_401_writes_nothing(
    platform: Platform, firestore_client: firestore.Client, mutate: Any
) -> None:
    body = body_of(stripe_event("charge.succeeded", "evt_b", _intent()))
    sent_body, headers = mutate(body, stripe_headers(body))

    response = requests.post(
        _url(platform, "/v1/webhooks/stripe"),
        data=sent_body,
        headers=headers,
        timeout=30,
    )

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_signature"
    assert _nothing_written(firestore_client)


@pytest.mark.parametrize(
    "signing",
    [
        pytest.param({"secret": "whsec_not_ours"}, id="wrong-secret"),
        pytest.param({"timestamp": int(time.time()) - 600}, id="old"),
        pytest.param({"timestamp": int(time.time()) + 600}, id="future"),
    ],
)
def test_payment_webhooks_wrong_secret_or_time_answers_401(
    platform: Platform, firestore_client: firestore.Client, signing: dict[str, Any]
) -> None:
    event = stripe_event("charge.succeeded", "evt_c", _intent())

    response = _post_stripe(platform, event, **signing)

    assert response.status_code == 401
    assert response.json()["detail"] == "The webhook signature could not be verified."
    assert _nothing_written(firestore_client)


def test_payment_webhooks_redelivery_answers_200_and_writes_nothing_new(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    event = stripe_event("charge.succeeded", "evt_d", _intent())

    first = _post_stripe(platform, event)
    records = _documents(firestore_client, "payment_provider_events")
    payments = _documents(firestore_client, "payments")
    again = _post_stripe(platform, event)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["duplicates"] == 1
    assert _documents(firestore_client, "payment_provider_events") == records
    assert _documents(firestore_client, "payments") == payments
    assert len(_documents(firestore_client, "outbox")) == 1


def test_payment_webhooks_concurrent_duplicates_create_one_record(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    event = stripe_event("charge.succeeded", "evt_e", _intent())

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda _: _post_stripe(platform, event).status_code, range(8))
        )

    assert statuses == [200] * 8
    assert len(_documents(firestore_client, "payment_provider_events")) == 1
    assert len(_documents(firestore_client, "payments")) == 1
    assert len(_documents(firestore_client, "outbox")) == 1


def _lifecycle(intent: str, tag: str) -> list[dict[str, Any]]:
    return [
        stripe_event("payment_intent.created", f"evt_{tag}_1", intent),
        stripe_event("charge.succeeded", f"evt_{tag}_2", intent),
        stripe_event("refund.created", f"evt_{tag}_3", intent, id="re_1", amount=1000),
        stripe_event("refund.created", f"evt_{tag}_4", intent, id="re_2", amount=1500),
    ]


def test_payment_webhooks_every_delivery_order_gives_one_final_state(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    orders = list(itertools.permutations(range(4)))
    intents = [_intent() for _ in orders]

    def deliver(index: int) -> list[int]:
        events = _lifecycle(intents[index], str(index))
        return [_post_stripe(platform, events[i]).status_code for i in orders[index]]

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(deliver, range(len(orders))))

    assert statuses == [[200] * 4] * len(orders)
    finals = {
        (p["status"], p["amount_minor"], p["refunded_minor"], p["customer_id"])
        for p in (_payment(firestore_client, intent) for intent in intents)
    }
    assert finals == {("refunded", 2500, 2500, "cust-7f3a9c")}


def test_payment_webhooks_concurrent_events_of_one_payment_converge(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    intent = _intent()
    events = _lifecycle(intent, "c")

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(lambda e: _post_stripe(platform, e).status_code, events)
        )

    assert statuses == [200] * 4
    payment = _payment(firestore_client, intent)
    assert (payment["status"], payment["refunded_minor"]) == ("refunded", 2500)
    assert payment["fact_count"] == 4


def test_payment_webhooks_unknown_type_is_recorded_and_changes_no_payment(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    response = _post_stripe(platform, sample("stripe/customer.created"))

    assert response.status_code == 200
    (record,) = _documents(firestore_client, "payment_provider_events")
    assert (record["event_type"], record["fact_json"]) == ("customer.created", None)
    assert _documents(firestore_client, "payments") == []


@pytest.fixture
def payment_events(platform: Platform) -> Iterator[pubsub_v1.SubscriberClient]:
    """A pull subscription on payment-events, made for one test."""
    subscriber = pubsub_v1.SubscriberClient()
    project = platform.config.project_id
    path = subscriber.subscription_path(
        project, f"test-payments-{uuid.uuid4().hex[:8]}"
    )
    subscriber.create_subscription(
        name=path, topic=f"projects/{project}/topics/payment-events"
    )
    subscriber.test_path = path  # type: ignore[attr-defined]
    yield subscriber
    subscriber.delete_subscription(subscription=path)
    subscriber.close()


def _pulled(subscriber: pubsub_v1.SubscriberClient, subject: str) -> list[Any]:
    path = subscriber.test_path  # type: ignore[attr-defined]
    found: list[Any] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        response = subscriber.pull(request={"subscription": path, "max_messages": 50})
        for received in response.received_messages:
            envelope = json.loads(received.message.data)
            if envelope["subject"] == subject:
                found.append(envelope)
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": path,
                    "ack_ids": [r.ack_id for r in response.received_messages],
                }
            )
        time.sleep(0.2)
    return found


def test_payment_webhooks_each_change_publishes_one_payment_event(
    platform: Platform,
    firestore_client: firestore.Client,
    payment_events: pubsub_v1.SubscriberClient,
) -> None:
    intent = _intent()
    events = _lifecycle(intent, "p")
    for event in [events[1], events[0], events[2], events[2]]:
        assert _post_stripe(platform, event).status_code == 200

    published = _pulled(payment_events, f"stripe:{intent}")

    # The late payment_intent.created changes nothing; the redelivery neither.
    types = [e["event_type"] for e in published]
    assert sorted(types) == [
        "payment.charge.partially_refunded",
        "payment.charge.succeeded",
    ]
    refunded = next(e for e in published if "refunded" in e["event_type"])
    assert refunded["data"]["refunded_minor"] == 1000
    assert refunded["data"]["provider_event_id"] == "evt_p_3"


def test_payment_webhooks_adyen_batch_is_recorded_and_accepted(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    batch = adyen_signed(
        [
            adyen_item("authorisation", merchantReference="order:42\\a"),
            adyen_item("capture"),
        ]
    )

    response = _post_adyen(platform, batch)

    assert (response.status_code, response.text) == (200, "[accepted]")
    payment = _payment(firestore_client, "QFQTPCQ8HXSKGK82")
    assert (payment["status"], payment["amount_minor"]) == ("succeeded", 4200)
    assert len(_documents(firestore_client, "payment_provider_events")) == 2


def test_payment_webhooks_adyen_batch_with_one_bad_item_is_rejected_whole(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    batch = adyen_signed([adyen_item("authorisation"), adyen_item("capture")])
    batch["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] = 1

    response = _post_adyen(platform, batch)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert _nothing_written(firestore_client)


def test_payment_webhooks_standard_source_is_recorded(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    body = body_of(sample("standard/payment.succeeded"))

    response = requests.post(
        _url(platform, f"/v1/webhooks/standard/{STANDARD_SOURCE}"),
        data=body,
        headers=standard_headers(body, "msg_2Kd9Q"),
        timeout=30,
    )

    assert response.status_code == 200
    payment = _payment(firestore_client, "lp_01JDEMO7Q2")
    assert (payment["amount_minor"], payment["currency"]) == (1250500, "KWD")


def test_payment_webhooks_standard_missing_headers_answer_401(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    body = body_of(sample("standard/payment.succeeded"))
    headers = standard_headers(body, "msg_2Kd9Q")
    del headers["webhook-signature"]

    response = requests.post(
        _url(platform, f"/v1/webhooks/standard/{STANDARD_SOURCE}"),
        data=body,
        headers=headers,
        timeout=30,
    )

    assert response.status_code == 401
    assert _nothing_written(firestore_client)


@pytest.mark.parametrize(
    "path", ["/v1/webhooks/standard/unknown-sender", "/v1/webhooks/paypal"]
)
def test_payment_webhooks_unknown_path_answers_404_problem(
    platform: Platform, path: str
) -> None:
    response = requests.post(_url(platform, path), data=b"{}", timeout=30)

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "webhook_not_found"


def test_payment_webhooks_body_over_one_mib_answers_413(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    body = b"{" + b" " * (1024 * 1024) + b"}"

    response = requests.post(
        _url(platform, "/v1/webhooks/stripe"),
        data=body,
        headers=stripe_headers(body),
        timeout=30,
    )

    assert response.status_code == 413
    assert _nothing_written(firestore_client)


def test_payment_webhooks_through_the_gateway_answers_405_for_get(
    platform: Platform,
) -> None:
    response = requests.get(
        platform.config.url("gateway") + "/v1/webhooks/stripe", timeout=30
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
