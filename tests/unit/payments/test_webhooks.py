"""Routing of webhook paths, and what the ledger refuses before writing."""

from __future__ import annotations

import os

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from common.errors import NotFoundError, PayloadTooLargeError
from common.payments.facts import ProviderEvent
from common.payments.store import PaymentLedger, outbox_event_id
from common.payments.webhooks import STANDARD_SOURCES_ENV, known_sources, route


@pytest.fixture(autouse=True)
def _sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STANDARD_SOURCES_ENV, "ledgerline, acme-pay,stripe")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/webhooks/stripe", ("stripe", None)),
        ("/v1/webhooks/adyen", ("adyen", None)),
        ("/v1/webhooks/standard/ledgerline", ("standard", "ledgerline")),
        ("/v1/webhooks/standard/acme-pay/", ("standard", "acme-pay")),
    ],
)
def test_route_known_paths_name_provider_and_source(
    path: str, expected: tuple[str, str | None]
) -> None:
    assert route(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhooks",
        "/v1/webhooks/paypal",
        "/v1/webhooks/standard/unknown",
        "/v1/webhooks/standard/stripe",
        "/v1/webhooks/stripe/extra",
        "/v1/webhooks/standard/LEDGERLINE",
    ],
)
def test_route_unknown_path_or_source_is_not_found(path: str) -> None:
    with pytest.raises(NotFoundError) as raised:
        route(path)
    assert raised.value.code == "webhook_not_found"


def test_known_sources_never_include_a_provider_name() -> None:
    assert known_sources() == {"ledgerline", "acme-pay"}
    assert os.environ[STANDARD_SOURCES_ENV]


def test_record_payload_that_cannot_be_stored_is_refused_before_writing() -> None:
    anonymous = AnonymousCredentials()
    offline = firestore.Client(project="unit", credentials=anonymous)
    ledger = PaymentLedger(offline)
    incompressible = os.urandom(1024 * 1024)
    event = ProviderEvent(
        scope="stripe", event_key="evt_big", event_type="x", raw=incompressible
    )

    with pytest.raises(PayloadTooLargeError):
        ledger.record(event)


def test_outbox_event_id_is_deterministic_per_payment_and_event() -> None:
    first = outbox_event_id("stripe:pi_1", "record-a")

    assert first == outbox_event_id("stripe:pi_1", "record-a")
    assert first != outbox_event_id("stripe:pi_1", "record-b")
    assert first != outbox_event_id("stripe:pi_2", "record-a")
