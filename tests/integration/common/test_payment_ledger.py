"""common.payments against the emulators: outages, rotation, the listing."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import firestore, pubsub_v1

from common.errors import UnavailableError
from common.events import EventPublisher
from common.outbox import PENDING, PUBLISHED, Outbox
from common.payments.listing import list_customer_payments
from common.payments.store import PaymentLedger
from common.payments.webhooks import (
    WebhookDelivery,
    WebhookReceipt,
    receive_webhook,
)
from common.secrets import EnvironmentSecretSource, SecretSource, secret_env_var
from emulators.config import DEFAULT_PORTS, PlatformConfig
from emulators.platform import Platform
from emulators.processes import ManagedProcess
from emulators.services import emulator_processes
from tests.payment_samples import STRIPE_SECRET, body_of, stripe_event, stripe_headers
from tests.support import eventually

pytestmark = pytest.mark.integration

NEW_SECRET = "whsec_rotated_in_this_week"


def _delivery(
    event_id: str, intent: str, secret: str = STRIPE_SECRET
) -> WebhookDelivery:
    body = body_of(stripe_event("charge.succeeded", event_id, intent))
    signature = stripe_headers(body, secret)["Stripe-Signature"]
    return WebhookDelivery("stripe", body, {"stripe-signature": signature})


def _secrets(*values: str) -> EnvironmentSecretSource:
    return EnvironmentSecretSource(
        {secret_env_var("stripe-webhook-secret"): ",".join(values)}
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _dead_host() -> str:
    return f"127.0.0.1:{_free_port()}"


@pytest.fixture
def live_ledger(
    firestore_client: firestore.Client, pubsub_env: dict[str, str]
) -> PaymentLedger:
    """A ledger on the running emulators."""
    return PaymentLedger(firestore_client, Outbox(firestore_client, _publisher()))


def _publisher() -> EventPublisher:
    return EventPublisher(pubsub_v1.PublisherClient(), timeout_s=3)


@pytest.fixture
def dead_pubsub(
    firestore_client: firestore.Client, monkeypatch: pytest.MonkeyPatch
) -> Outbox:
    """An outbox whose publisher talks to a port where nothing listens."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", _dead_host())
    publisher = EventPublisher(pubsub_v1.PublisherClient(), timeout_s=2)
    monkeypatch.undo()
    return Outbox(firestore_client, publisher)


def test_receive_webhook_rotated_secret_old_and_new_both_pass(
    live_ledger: PaymentLedger,
) -> None:
    secrets = _secrets(NEW_SECRET, STRIPE_SECRET)

    old = receive_webhook(_delivery("evt_r1", "pi_r1"), live_ledger, secrets)
    new = receive_webhook(
        _delivery("evt_r2", "pi_r2", NEW_SECRET), live_ledger, secrets
    )

    assert (old.recorded, new.recorded) == (1, 1)


def test_receive_webhook_pubsub_down_answers_503_then_retry_publishes_once(
    firestore_client: firestore.Client,
    dead_pubsub: Outbox,
    live_ledger: PaymentLedger,
) -> None:
    delivery = _delivery("evt_o1", "pi_o1")
    broken = PaymentLedger(firestore_client, dead_pubsub)

    with pytest.raises(UnavailableError):
        receive_webhook(delivery, broken, _secrets(STRIPE_SECRET))
    (entry,) = firestore_client.collection("outbox").get()
    assert (entry.to_dict() or {})["state"] == PENDING

    retried = receive_webhook(delivery, live_ledger, _secrets(STRIPE_SECRET))

    assert (retried.recorded, retried.duplicates) == (0, 1)
    (entry,) = firestore_client.collection("outbox").get()
    assert (entry.to_dict() or {})["state"] == PUBLISHED
    assert len(firestore_client.collection("payments").get()) == 1


def test_receive_webhook_firestore_down_answers_503_writes_nothing_then_records(
    platform: Platform,
    firestore_client: firestore.Client,
    live_ledger: PaymentLedger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", _dead_host())
    down = firestore.Client(project=platform.config.project_id)
    monkeypatch.undo()
    broken = PaymentLedger(down, Outbox(down, _publisher()), timeout_s=2)
    delivery = _delivery("evt_o2", "pi_o2")

    started = time.monotonic()
    with pytest.raises(UnavailableError):
        receive_webhook(delivery, broken, _secrets(STRIPE_SECRET))
    assert time.monotonic() - started < 20
    assert firestore_client.collection("payment_provider_events").get() == []

    retried = receive_webhook(delivery, live_ledger, _secrets(STRIPE_SECRET))
    assert retried.recorded == 1


def _receipt_or_none(
    delivery: WebhookDelivery, ledger: PaymentLedger, secrets: SecretSource
) -> WebhookReceipt | None:
    """Return the delivery's receipt, or None when it is answered 503.

    While the emulator is down, the client's gRPC channel waits longer after
    each refused reconnect (from 1 s, 1.6 times more each time), so the first
    request after the restart can find it still waiting and fail at once: the
    test redelivers, as a provider does.
    """
    try:
        return receive_webhook(delivery, ledger, secrets)
    except UnavailableError:
        return None


@pytest.fixture
def own_firestore(tmp_path: Path) -> Iterator[tuple[ManagedProcess, str]]:
    """A Firestore emulator of the test's own, that the test may stop."""
    ports = {**DEFAULT_PORTS, "firestore": _free_port(), "firestore-ws": _free_port()}
    config = PlatformConfig(state_dir=tmp_path, ports=ports)
    process = next(p for p in emulator_processes(config) if p.name == "firestore")
    process.start()
    try:
        process.wait_ready(time.monotonic() + 60)
        yield process, f"127.0.0.1:{ports['firestore']}"
    finally:
        process.stop()


def test_receive_webhook_firestore_stopped_mid_flight_answers_503_then_recovers(
    platform: Platform,
    own_firestore: tuple[ManagedProcess, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    process, host = own_firestore
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", host)
    client = firestore.Client(project=platform.config.project_id)
    monkeypatch.undo()
    ledger = PaymentLedger(client, Outbox(client, _publisher()), timeout_s=5)
    secrets = _secrets(STRIPE_SECRET)
    before = receive_webhook(_delivery("evt_s1", "pi_s1"), ledger, secrets)

    process.stop()
    with pytest.raises(UnavailableError):
        receive_webhook(_delivery("evt_s2", "pi_s2"), ledger, secrets)
    process.start()
    process.wait_ready(time.monotonic() + 60)
    redelivery = _delivery("evt_s2", "pi_s2")
    retried = eventually(
        lambda: _receipt_or_none(redelivery, ledger, secrets), timeout_s=60, every_s=1
    )

    assert (before.recorded, retried.recorded) == (1, 1)
    assert len(client.collection("payments").get()) == 1


def test_list_customer_payments_returns_a_webhooks_payment(
    firestore_client: firestore.Client, live_ledger: PaymentLedger
) -> None:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    body = body_of(
        stripe_event(
            "charge.succeeded", "evt_l1", "pi_l1", metadata={"customer_id": customer}
        )
    )
    signature = stripe_headers(body)["Stripe-Signature"]
    delivery = WebhookDelivery("stripe", body, {"stripe-signature": signature})

    receive_webhook(delivery, live_ledger, _secrets(STRIPE_SECRET))

    (payment,) = list_customer_payments(firestore_client, customer)
    assert payment.provider_reference == "pi_l1"
    assert (payment.amount_minor, payment.currency) == (2500, "EUR")
    assert (payment.status, payment.settlement) == ("succeeded", None)
