"""The declared tables cover the catalogue and hold no personal data."""

from __future__ import annotations

import pytest

from common.analytics.schema import (
    ENVELOPE_COLUMNS,
    EVENT_TABLES,
    TABLES,
    TableSpec,
    table,
)
from common.catalogue import event_schemas

pytestmark = pytest.mark.unit

# Fields a profile holds that must never reach BigQuery (PRODUCT.md).
PERSONAL_DATA = {
    "given_name",
    "family_name",
    "name",
    "email",
    "phone",
    "date_of_birth",
    "address",
    "line1",
    "line2",
    "city",
    "postal_code",
    "document_number",
    "mrz",
}


@pytest.mark.parametrize(("event_type", "version"), sorted(event_schemas()))
def test_event_tables_every_catalogued_field_has_a_column(
    event_type: str, version: int
) -> None:
    spec = EVENT_TABLES[event_type.split(".", 1)[0]]
    model = event_schemas()[(event_type, version)]

    missing = set(model.model_fields) - set(spec.column_names)

    assert missing == set()


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_tables_no_column_holds_personal_data(spec: TableSpec) -> None:
    assert PERSONAL_DATA.isdisjoint(spec.column_names)


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_tables_partition_on_a_required_time_and_cluster_on_columns(
    spec: TableSpec,
) -> None:
    partition = spec.column(spec.partition_by)

    assert (partition.type, partition.mode) == ("TIMESTAMP", "REQUIRED")
    assert set(spec.cluster_by) <= set(spec.column_names)
    assert len(set(spec.column_names)) == len(spec.columns)
    assert all(column.description for column in spec.columns)


@pytest.mark.parametrize("spec", EVENT_TABLES.values(), ids=lambda spec: spec.name)
def test_event_tables_start_with_the_envelope_and_cluster_by_customer(
    spec: TableSpec,
) -> None:
    assert spec.columns[: len(ENVELOPE_COLUMNS)] == ENVELOPE_COLUMNS
    assert spec.cluster_by[0] == "customer_id"


def test_table_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        table("customers")
