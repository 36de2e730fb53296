"""Events published on the three topics land in BigQuery's views, once."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from common.analytics.queries import query_rows
from common.events import EventEnvelope, EventPublisher
from emulators.platform import Platform
from tests.support import eventually

if TYPE_CHECKING:
    from google.cloud import firestore

pytestmark = pytest.mark.e2e

SAMPLES = Path(__file__).parents[1] / "integration" / "analytics" / "samples"


def _seed(event_id: str) -> dict[str, Any]:
    seed = json.loads((SAMPLES / "seed_events.json").read_text())
    return dict(next(e for e in seed if e["event_id"] == event_id))


def _query(sql: str, **parameters: str) -> list[dict[str, Any]]:
    from common.clients import bigquery_client

    return query_rows(bigquery_client(), sql, parameters, retry_timeout_s=5)


def _published_twice(customer: str) -> None:
    publisher = EventPublisher()
    for seed_id, topic in (
        ("evt-cus-c-1", "customer-events"),
        ("evt-kyc-d-2", "kyc-events"),
        ("evt-pay-6", "payment-events"),
    ):
        raw = _seed(seed_id)
        raw["event_id"] = f"{seed_id}-{uuid.uuid4().hex}"
        raw["data"]["customer_id"] = customer
        if topic == "payment-events":
            raw["subject"] = raw["data"]["payment_key"] = f"stripe:pi_{customer}"
            raw["data"]["provider_reference"] = f"pi_{customer}"
        else:
            raw["subject"] = customer
        envelope = EventEnvelope.model_validate(raw)
        for _ in range(2):
            publisher.publish(topic, envelope)


def test_published_twice_on_each_topic_appears_once_in_views(
    platform: Platform,
) -> None:
    customer = f"cus_{uuid.uuid4().hex[:10]}"
    _published_twice(customer)

    def both_copies_loaded() -> list[dict[str, Any]] | None:
        rows = _query(
            "SELECT (SELECT COUNT(*) FROM `{dataset}.customer_events` "
            "WHERE customer_id = @c) AS customers, "
            "(SELECT COUNT(*) FROM `{dataset}.kyc_checks` "
            "WHERE customer_id = @c) AS kyc, "
            "(SELECT COUNT(*) FROM `{dataset}.payments` "
            "WHERE customer_id = @c) AS payments",
            c=customer,
        )
        return rows if rows[0] == {"customers": 2, "kyc": 2, "payments": 2} else None

    eventually(both_copies_loaded, timeout_s=60)

    current = _query(
        "SELECT status, events FROM `{dataset}.customers_current` "
        "WHERE customer_id = @c",
        c=customer,
    )
    assert current == [{"status": "pending_kyc", "events": 1}]
    profile = _query(
        "SELECT kyc_status, kyc_documents, currency, payments, succeeded_count, "
        "succeeded_amount_minor FROM `{dataset}.customer_360` "
        "WHERE customer_id = @c",
        c=customer,
    )
    assert profile == [
        {
            "kyc_status": "verified",
            "kyc_documents": 1,
            "currency": "EUR",
            "payments": 1,
            "succeeded_count": 1,
            "succeeded_amount_minor": 300,
        }
    ]


def test_published_unknown_type_is_dead_lettered_once_not_retried(
    platform: Platform,
) -> None:
    raw = _seed("evt-kyc-d-1")
    raw["event_id"] = f"evt-{uuid.uuid4().hex}"
    raw["event_type"] = "kyc.document.teleported"
    EventPublisher().publish("kyc-events", EventEnvelope.model_validate(raw))

    def recorded() -> list[dict[str, Any]] | None:
        return (
            _query(
                "SELECT topic, code FROM `{dataset}.dead_letters` WHERE event_id = @id",
                id=raw["event_id"],
            )
            or None
        )

    first = eventually(recorded, timeout_s=60)
    # A 5xx would be redelivered within a second here (max_backoff 1 s) and
    # write another row; acknowledged, it stays one.
    time.sleep(3)

    assert first == [{"topic": "kyc-events", "code": "unknown_event_type"}]
    assert recorded() == first


def test_customer_signed_up_through_the_api_lands_in_customers_current(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    from tests.integration.customers.conftest import Api, Users, customer_body

    user = Users(platform).new()
    api = Api(platform.config.url("gateway"))
    body = customer_body()
    created = api.create(user, body)
    assert created.status_code == 201
    customer = created.json()["id"]

    def current() -> list[dict[str, Any]] | None:
        return (
            _query(
                "SELECT status, country, terms_version, events "
                "FROM `{dataset}.customers_current` WHERE customer_id = @c",
                c=customer,
            )
            or None
        )

    rows = eventually(current, timeout_s=60)

    assert rows == [
        {
            "status": "pending_kyc",
            "country": body["country"],
            "terms_version": body["terms_version"],
            "events": 1,
        }
    ]
    rejected = _query(
        "SELECT code FROM `{dataset}.dead_letters` WHERE subject = @c", c=customer
    )
    assert rejected == []
