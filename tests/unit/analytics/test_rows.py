"""Rows: events validated against the catalogue, rows against their table."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.analytics.rows import (
    LOADED_BY_LOADER,
    check_row,
    dead_letter_row,
    event_row,
)
from common.analytics.schema import (
    DEAD_LETTERS,
    PAYMENTS,
    SETTLEMENT_LINES,
    Column,
    TableSpec,
)
from common.errors import InternalError, InvalidEventError
from common.events import EventEnvelope, PubSubMessage

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).parent / "samples"
NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def _raw() -> dict[str, Any]:
    return dict(json.loads((SAMPLES / "payment_succeeded.json").read_text()))


def _envelope(raw: dict[str, Any] | None = None) -> EventEnvelope:
    return EventEnvelope.model_validate(raw or _raw())


def _message(data: bytes, attributes: dict[str, str] | None = None) -> PubSubMessage:
    return PubSubMessage.model_validate(
        {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes or {},
            "messageId": "m-1",
            "publishTime": "2026-12-05T05:59:59Z",
        }
    )


def test_event_row_payment_has_typed_columns_and_the_envelope() -> None:
    row = event_row(_envelope(), loaded_at=NOW, loaded_by=LOADED_BY_LOADER)

    assert row.table is PAYMENTS
    assert row.row_id == "evt-pay-unit-1"
    values = row.values
    assert values["occurred_at"] == "2026-12-01T10:01:00Z"
    assert values["customer_id"] == "cus_unit"
    assert (values["amount_minor"], values["currency"]) == (2500, "EUR")
    assert values["loaded_at"] == "2026-12-05T06:00:00Z"
    assert values["loaded_by"] == "loader"
    assert json.loads(values["event"]) == json.loads(_envelope().model_dump_json())
    assert set(values) == set(PAYMENTS.column_names)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"event_type": "payment.charge.teleported"}, "unknown_event_type"),
        ({"schema_version": 9}, "unknown_schema_version"),
    ],
)
def test_event_row_uncatalogued_type_or_version_is_permanent(
    change: dict[str, Any], code: str
) -> None:
    raw = _raw() | change

    with pytest.raises(InvalidEventError) as caught:
        event_row(_envelope(raw), loaded_at=NOW, loaded_by=LOADED_BY_LOADER)

    assert caught.value.code == code


def test_event_row_invalid_data_lists_fields_without_their_values() -> None:
    raw = copy.deepcopy(_raw())
    raw["data"]["amount_minor"] = "25.00"
    raw["data"]["email"] = "someone@example.com"

    with pytest.raises(InvalidEventError) as caught:
        event_row(_envelope(raw), loaded_at=NOW, loaded_by=LOADED_BY_LOADER)

    error = caught.value
    assert error.code == "invalid_event"
    fields = sorted(e.field for e in error.field_errors)
    assert fields == ["data.amount_minor", "data.email"]
    assert "someone@example.com" not in repr(error.field_errors) + error.detail
    assert "25.00" not in repr(error.field_errors) + error.detail


def test_dead_letter_row_keeps_the_reason_not_the_data() -> None:
    data = b'{"event_id": "x", "secret": "someone@example.com"}'
    error = InvalidEventError("expected a valid event envelope", code="invalid_event")
    message = _message(data, {"event_type": "payment.charge.succeeded"})

    row = dead_letter_row(
        message,
        error,
        envelope=None,
        topic="payment-events",
        subscription=None,
        received_at=NOW,
    )

    assert row.table is DEAD_LETTERS
    assert row.row_id == "m-1"
    values = row.values
    assert values["code"] == "invalid_event"
    assert values["event_type"] == "payment.charge.succeeded"
    assert values["data_sha256"] == hashlib.sha256(data).hexdigest()
    assert values["data_size"] == len(data)
    assert "someone@example.com" not in json.dumps(values)


def _settlement_line() -> dict[str, Any]:
    return {
        "line_id": "stripe:txn_1",
        "provider": "stripe",
        "category": "charge",
        "gross_minor": 2500,
        "fee_minor": 60,
        "net_minor": 2440,
        "currency": "EUR",
        "transaction_at": "2026-12-01T10:01:00Z",
        "available_on": "2026-12-03",
        "recorded_at": "2026-12-05T06:00:00Z",
    }


def test_check_row_valid_settlement_line_passes() -> None:
    check_row(SETTLEMENT_LINES, _settlement_line())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"line_id": None}, "line_id: required"),
        ({"gross_minor": "25.00"}, "gross_minor: expected INT64"),
        ({"gross_minor": True}, "gross_minor: expected INT64"),
        ({"transaction_at": "yesterday"}, "transaction_at: expected TIMESTAMP"),
        ({"available_on": "03/12/2026"}, "available_on: expected DATE"),
        ({"colour": "blue"}, "colour: not a column"),
    ],
)
def test_check_row_invalid_value_names_the_column(
    change: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InternalError) as caught:
        check_row(SETTLEMENT_LINES, _settlement_line() | change)

    assert caught.value.code == "bigquery_row_invalid"
    assert problem in caught.value.detail


@pytest.mark.parametrize(
    ("value", "valid"),
    [("12.50", True), ("-3", True), ("1e3", False), ("12,50", False), (12.5, False)],
)
def test_check_row_numeric_must_be_a_decimal_string(value: Any, valid: bool) -> None:
    spec = TableSpec(
        name="prices",
        version=1,
        description="d",
        columns=(Column("price", "NUMERIC", "REQUIRED", "d"),),
        partition_by="price",
        cluster_by=(),
    )

    if valid:
        check_row(spec, {"price": value})
        return
    with pytest.raises(InternalError):
        check_row(spec, {"price": value})


def test_check_row_repeated_record_checks_each_item() -> None:
    values = {
        "message_id": "m-1",
        "code": "invalid_event",
        "reason": "r",
        "field_errors": [{"field": "data.x", "code": "missing"}],
        "data_size": 0,
        "data_sha256": "0" * 64,
        "received_at": "2026-12-05T06:00:00Z",
    }

    with pytest.raises(InternalError) as caught:
        check_row(DEAD_LETTERS, values)

    assert "field_errors.message: required" in caught.value.detail
