"""Rows: domain events and rejected messages as rows of the analytics tables.

Building a row validates the event against its type's schema in the
catalogue; a failure there is permanent (InvalidEventError). Every row is then
checked against its table's spec, because the BigQuery emulator accepts rows
that production would reject (EMULATORS.md); a failure there is our own bug.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

import pydantic

from common.analytics.schema import (
    DEAD_LETTERS,
    ENVELOPE_COLUMNS,
    EVENT_TABLES,
    Column,
    TableSpec,
)
from common.catalogue import event_schema
from common.errors import (
    CrmError,
    InternalError,
    InvalidEventError,
    validation_error_from_pydantic,
)
from common.events import EventEnvelope, PubSubMessage, format_timestamp

LOADED_BY_LOADER: Final = "loader"
LOADED_BY_BACKFILL: Final = "backfill"
EVENT_TYPE_NOT_LOADED: Final = "event_type_not_loaded"
ROW_INVALID: Final = "bigquery_row_invalid"

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMERIC_RE = re.compile(r"-?\d{1,29}(\.\d{1,9})?")
_MAX_REPORTED_ERRORS = 5


@dataclass(frozen=True)
class TableRow:
    """One row for one table, with the insert id that production dedupes on."""

    table: TableSpec
    row_id: str
    values: dict[str, Any]


def event_row(
    envelope: EventEnvelope, *, loaded_at: datetime, loaded_by: str
) -> TableRow:
    """Return the row of one event, validated against its type's schema.

    Raises:
        InvalidEventError: the type or version is not catalogued, the data
            does not match its schema, or no table holds the type's domain;
            no retry can fix any of them.
    """
    data = _validated_data(envelope)
    spec = EVENT_TABLES.get(envelope.event_type.split(".", 1)[0])
    if spec is None:
        raise InvalidEventError(
            f"expected an event domain with a table, found {envelope.event_type}",
            code=EVENT_TYPE_NOT_LOADED,
        )

    values: dict[str, Any] = {
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "occurred_at": format_timestamp(envelope.occurred_at),
        "schema_version": envelope.schema_version,
        "subject": envelope.subject,
        "customer_id": data.get("customer_id"),
        "event": envelope.model_dump_json(),
        "loaded_at": format_timestamp(loaded_at),
        "loaded_by": loaded_by,
    }
    for column in spec.columns[len(ENVELOPE_COLUMNS) :]:
        values[column.name] = _column_value(column, data.get(column.name))

    check_row(spec, values)
    return TableRow(spec, envelope.event_id, values)


def dead_letter_row(
    message: PubSubMessage,
    error: CrmError,
    *,
    envelope: EventEnvelope | None,
    topic: str | None,
    subscription: str | None,
    received_at: datetime,
) -> TableRow:
    """Return the dead_letters row of a message no retry can load.

    The row carries the error's client-safe detail and field errors, never
    the data itself: an invalid payload may hold anything.
    """
    attributes = message.attributes
    values: dict[str, Any] = {
        "message_id": message.message_id,
        "topic": topic,
        "subscription": subscription,
        "event_id": envelope.event_id if envelope else attributes.get("event_id"),
        "event_type": envelope.event_type if envelope else attributes.get("event_type"),
        "schema_version": _schema_version(envelope, attributes),
        "subject": envelope.subject if envelope else None,
        "code": error.code,
        "reason": error.detail,
        "field_errors": [e.to_dict() for e in error.field_errors],
        "attributes": json.dumps(attributes, sort_keys=True),
        "data_size": len(message.data),
        "data_sha256": hashlib.sha256(message.data).hexdigest(),
        "published_at": format_timestamp(message.publish_time),
        "received_at": format_timestamp(received_at),
    }
    check_row(DEAD_LETTERS, values)
    return TableRow(DEAD_LETTERS, message.message_id, values)


def check_row(spec: TableSpec, values: dict[str, Any]) -> None:
    """Check a row against its table's columns, as production BigQuery would.

    Raises:
        InternalError: a required value is missing, a value has the wrong
            type, or a member is not a column; the row was built wrongly.
    """
    problems = _problems(spec.columns, values, prefix="")
    if problems:
        shown = "; ".join(problems[:_MAX_REPORTED_ERRORS])
        raise InternalError(
            f"expected a valid {spec.name} row; found {len(problems)} "
            f"problem(s): {shown}",
            code=ROW_INVALID,
        )


def _validated_data(envelope: EventEnvelope) -> dict[str, Any]:
    schema = event_schema(envelope.event_type, envelope.schema_version)
    try:
        # Strict, as JSON: "25.00" is not an amount in minor units, even
        # though lax validation would read it as 25.
        model = schema.model_validate_json(json.dumps(envelope.data), strict=True)
    except pydantic.ValidationError as exc:
        fields = validation_error_from_pydantic(exc, prefix="data").field_errors
        reasons = "; ".join(
            f"{error.field}: {error.message}" for error in fields[:_MAX_REPORTED_ERRORS]
        )
        raise InvalidEventError(
            f"expected data matching {envelope.event_type} version "
            f"{envelope.schema_version}; found {len(fields)} problem(s): {reasons}",
            field_errors=fields,
        ) from exc
    return model.model_dump(mode="json")


def _schema_version(
    envelope: EventEnvelope | None, attributes: dict[str, str]
) -> int | None:
    if envelope is not None:
        return envelope.schema_version
    found = attributes.get("schema_version", "")
    return int(found) if found.isdigit() else None


def _column_value(column: Column, value: Any) -> Any:
    if column.mode == "REPEATED":
        return list(value or [])
    return value


def _problems(
    columns: tuple[Column, ...], values: dict[str, Any], prefix: str
) -> list[str]:
    known = {column.name for column in columns}
    problems = [
        f"{prefix}{name}: not a column" for name in sorted(values.keys() - known)
    ]
    for column in columns:
        problems += _column_problems(column, values.get(column.name), prefix)
    return problems


def _column_problems(column: Column, value: Any, prefix: str) -> list[str]:
    path = f"{prefix}{column.name}"
    if column.mode == "REPEATED":
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for item in value for p in _value_problems(column, item, path)]
    if value is None:
        return [f"{path}: required"] if column.mode == "REQUIRED" else []
    return _value_problems(column, value, path)


def _value_problems(column: Column, value: Any, path: str) -> list[str]:
    if column.type == "RECORD":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        return _problems(column.fields, value, prefix=f"{path}.")
    if not _is_valid_scalar(column.type, value):
        return [f"{path}: expected {column.type}"]
    return []


def _is_valid_scalar(field_type: str, value: Any) -> bool:
    if field_type == "STRING":
        return isinstance(value, str)
    if field_type == "INT64":
        return isinstance(value, int) and not isinstance(value, bool)
    if field_type == "BOOL":
        return isinstance(value, bool)
    if field_type == "NUMERIC":
        # A malformed NUMERIC makes the emulator answer 500 (EMULATORS.md).
        return isinstance(value, str) and _NUMERIC_RE.fullmatch(value) is not None
    if not isinstance(value, str):
        return False
    if field_type == "TIMESTAMP":
        return _parses(datetime.fromisoformat, value)
    if field_type == "DATE":
        return _DATE_RE.fullmatch(value) is not None and _parses(
            date.fromisoformat, value
        )
    return field_type == "JSON" and _parses(json.loads, value)


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True
