"""The analysts' views on a seeded set of events, against rows written out here.

The seed (samples/seed_events.json, in load order) holds four customers, their
KYC documents and six payments in EUR, GBP, JPY (no minor digits) and a
settlement in USD; later states are loaded before earlier ones, and several
events twice, once under the same message id and once under another.
Settlement lines are written directly, one of them twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from common.analytics.rows import TableRow, check_row
from common.analytics.schema import SETTLEMENT_LINES
from tests.integration.analytics.conftest import Analytics, message, sample

pytestmark = pytest.mark.integration

REDELIVERED = {"evt-cus-a-1", "evt-kyc-a-2"}


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def seeded(analytics: Analytics) -> Analytics:
    """The dataset with the seed loaded through the loader, duplicates and all."""
    message_ids: dict[str, str] = {}
    for envelope in sample("seed_events.json"):
        event_id = envelope["event_id"]
        # These come twice as a redelivery of the same message; the others
        # that come twice are published again (an outbox relay), new ids.
        if event_id in REDELIVERED:
            message_ids.setdefault(event_id, f"msg-{event_id}")
        outcome = analytics.loader.load_message(
            message(envelope, message_ids.get(event_id))
        )
        assert outcome == "loaded"

    rows = []
    for values in sample("seed_settlement_lines.json"):
        check_row(SETTLEMENT_LINES, values)
        rows.append(TableRow(SETTLEMENT_LINES, values["line_id"], values))
    for row in rows:
        analytics.loader.insert([row])
    return analytics


def test_seed_tables_hold_the_duplicates_that_views_drop(seeded: Analytics) -> None:
    assert seeded.count("customer_events") == 9
    assert seeded.count("kyc_checks") == 8
    assert seeded.count("payments") == 11
    assert seeded.count("settlement_lines") == 10


def test_payments_current_latest_state_of_each_payment(seeded: Analytics) -> None:
    rows = seeded.view("payments_current", "payment_key")

    picked = [
        (
            r["payment_key"],
            r["customer_id"],
            r["status"],
            r["amount_minor"],
            r["currency"],
            r["refunded_minor"],
            r["updated_at"],
        )
        for r in rows
    ]
    assert picked == [
        ("adyen:psp_3", "cus_a", "failed", 4000, "EUR", 0, _at(2, 11, 5)),
        ("adyen:psp_4", "cus_b", "succeeded", 5000, "JPY", 0, _at(3, 8)),
        ("stripe:pi_1", "cus_a", "partially_refunded", 2500, "EUR", 500, _at(2, 9)),
        ("stripe:pi_2", "cus_a", "succeeded", 1000, "GBP", 0, _at(2, 10)),
        ("stripe:pi_5", None, "succeeded", 700, "EUR", 0, _at(3, 9)),
        ("stripe:pi_6", "cus_b", "succeeded", 300, "EUR", 0, _at(3, 15)),
    ]


def test_customers_current_status_by_effect_time_profile_by_latest(
    seeded: Analytics,
) -> None:
    rows = seeded.view("customers_current", "customer_id")

    assert rows == [
        {
            "customer_id": "cus_a",
            "status": "active",
            "status_changed_at": _at(3, 10),
            "country": "DE",
            "address_country": "DE",
            "terms_version": "v2",
            "email_hash": "a" * 64,
            "phone_hash": "e" * 64,
            "created_at": _at(1, 9),
            "updated_at": _at(2, 8),
            "events": 3,
            "last_event_at": _at(3, 10),
        },
        {
            "customer_id": "cus_b",
            "status": "rejected",
            "status_changed_at": _at(2, 11),
            "country": "GB",
            "address_country": "GB",
            "terms_version": "v1",
            "email_hash": "b" * 64,
            "phone_hash": "e" * 64,
            "created_at": _at(1, 12),
            "updated_at": _at(1, 12),
            "events": 2,
            "last_event_at": _at(2, 11),
        },
        {
            "customer_id": "cus_c",
            "status": "pending_kyc",
            "status_changed_at": _at(4, 0),
            "country": "FR",
            "address_country": "FR",
            "terms_version": "v2",
            "email_hash": "c" * 64,
            "phone_hash": "e" * 64,
            "created_at": _at(4, 0),
            "updated_at": _at(4, 0),
            "events": 1,
            "last_event_at": _at(4, 0),
        },
        {
            "customer_id": "cus_d",
            "status": "active",
            "status_changed_at": _at(4, 11),
            "country": "ES",
            "address_country": "ES",
            "terms_version": "v2",
            "email_hash": "d" * 64,
            "phone_hash": "e" * 64,
            "created_at": _at(2, 10),
            "updated_at": _at(2, 10),
            "events": 2,
            "last_event_at": _at(4, 11),
        },
    ]


def test_kyc_current_furthest_document_status_per_customer(
    seeded: Analytics,
) -> None:
    rows = seeded.view("kyc_current", "customer_id")

    assert rows == [
        {
            "customer_id": "cus_a",
            "kyc_status": "verified",
            "documents": 1,
            "verified_documents": 1,
            "verified_at": _at(3, 9, 59),
        },
        {
            "customer_id": "cus_b",
            "kyc_status": "rejected",
            "documents": 1,
            "verified_documents": 0,
            "verified_at": None,
        },
        {
            "customer_id": "cus_d",
            "kyc_status": "verified",
            "documents": 1,
            "verified_documents": 1,
            "verified_at": _at(4, 11),
        },
    ]


CUSTOMER_360_COLUMNS = (
    "customer_id",
    "status",
    "country",
    "kyc_status",
    "kyc_documents",
    "kyc_verified_at",
    "currency",
    "payments",
    "succeeded_count",
    "succeeded_amount_minor",
    "failed_count",
    "failed_amount_minor",
    "partially_refunded_count",
    "partially_refunded_amount_minor",
    "refunded_minor",
    "last_payment_key",
    "last_payment_status",
    "settlement_lines",
    "settled_gross_minor",
    "settled_fee_minor",
    "settled_net_minor",
)


def test_customer_360_one_row_per_customer_and_currency(seeded: Analytics) -> None:
    rows = seeded.view("customer_360", "customer_id, currency")

    picked = [tuple(row[c] for c in CUSTOMER_360_COLUMNS) for row in rows]
    verified_a, verified_d = _at(3, 9, 59), _at(4, 11)
    last_a, last_b = ("adyen:psp_3", "failed"), ("stripe:pi_6", "succeeded")
    assert picked == [
        # pi_1 (2500, 500 refunded) and psp_3 (4000, failed); settled: pi_1's
        # charge and refund, and psp_3's charge.
        ("cus_a", "active", "DE", "verified", 1, verified_a, "EUR",
         2, 0, 0, 1, 4000, 1, 2500, 500, *last_a, 3, 6000, 160, 5840),
        ("cus_a", "active", "DE", "verified", 1, verified_a, "GBP",
         1, 1, 1000, 0, 0, 0, 0, 0, *last_a, 1, 990, 25, 965),
        ("cus_b", "rejected", "GB", "rejected", 1, None, "EUR",
         1, 1, 300, 0, 0, 0, 0, 0, *last_b, 0, None, None, None),
        ("cus_b", "rejected", "GB", "rejected", 1, None, "JPY",
         1, 1, 5000, 0, 0, 0, 0, 0, *last_b, 2, 4000, 150, 3850),
        ("cus_c", "pending_kyc", "FR", "no_document", 0, None, None,
         0, None, None, None, None, None, None, None, None, None, 0, None, None,
         None),
        ("cus_d", "active", "ES", "verified", 1, verified_d, None,
         0, None, None, None, None, None, None, None, None, None, 0, None, None,
         None),
    ]  # fmt: skip


def test_customer_360_other_statuses_count_zero(seeded: Analytics) -> None:
    rows = seeded.view("customer_360", "customer_id, currency")

    others = ("pending", "authorised", "canceled", "refunded", "disputed")
    with_money = [row for row in rows if row["currency"] is not None]
    assert len(with_money) == 4
    for row in with_money:
        assert [row[f"{s}_count"] for s in others] == [0] * len(others)
        assert [row[f"{s}_amount_minor"] for s in others] == [0] * len(others)


def test_daily_payment_volume_each_status_once_on_the_day_reached(
    seeded: Analytics,
) -> None:
    rows = seeded.view("daily_payment_volume", "day, provider, currency, status")

    picked = [tuple(row.values()) for row in rows]
    assert picked == [
        (date(2026, 12, 1), "stripe", "EUR", "pending", 1, 2500, 0),
        (date(2026, 12, 1), "stripe", "EUR", "succeeded", 1, 2500, 0),
        (date(2026, 12, 2), "adyen", "EUR", "authorised", 1, 4000, 0),
        (date(2026, 12, 2), "adyen", "EUR", "failed", 1, 4000, 0),
        (date(2026, 12, 2), "stripe", "EUR", "partially_refunded", 1, 2500, 500),
        (date(2026, 12, 2), "stripe", "GBP", "succeeded", 1, 1000, 0),
        (date(2026, 12, 3), "adyen", "JPY", "succeeded", 1, 5000, 0),
        (date(2026, 12, 3), "stripe", "EUR", "succeeded", 2, 1000, 0),
    ]


def test_kyc_funnel_customers_by_status_and_days_to_verification(
    seeded: Analytics,
) -> None:
    rows = seeded.view("kyc_funnel", "status, kyc_status")

    assert rows == [
        {
            "status": "active",
            "kyc_status": "verified",
            "days_to_verification": 2,
            "customers": 2,
        },
        {
            "status": "pending_kyc",
            "kyc_status": "no_document",
            "days_to_verification": None,
            "customers": 1,
        },
        {
            "status": "rejected",
            "kyc_status": "rejected",
            "days_to_verification": None,
            "customers": 1,
        },
    ]


def test_settlement_mismatches_flags_each_kind_once(seeded: Analytics) -> None:
    rows = seeded.view("settlement_mismatches", "provider_reference")

    picked = [
        (
            r["mismatch"],
            r["provider_reference"],
            r["currency"],
            r["payment_currency"],
            r["payment_status"],
            r["charged_minor"],
            r["payment_amount_minor"],
            r["refunds_settled_minor"],
            r["payment_refunded_minor"],
        )
        for r in rows
    ]
    assert picked == [
        ("amount_mismatch", "pi_2", "GBP", "GBP", "succeeded", 990, 1000, 0, 0),
        ("currency_mismatch", "pi_5", "USD", "EUR", "succeeded", 700, 700, 0, 0),
        ("payment_missing", "pi_unknown", "EUR", None, None, 1200, None, 0, None),
        ("status_mismatch", "psp_3", "EUR", "EUR", "failed", 4000, 4000, 0, 0),
        ("refund_mismatch", "psp_4", "JPY", "JPY", "succeeded", 5000, 5000, 1000, 0),
    ]
