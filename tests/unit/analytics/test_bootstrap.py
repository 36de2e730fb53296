"""The bootstrap's plan: additive changes applied, unsafe ones refused."""

from __future__ import annotations

import dataclasses

import pytest
from google.cloud import bigquery

from common.analytics.bootstrap import (
    SchemaChangeError,
    ddl_type,
    plan_table,
    schema_fields,
)
from common.analytics.schema import KYC_CHECKS, Column, TableSpec

pytestmark = pytest.mark.unit


def _existing(spec: TableSpec, fields: list[bigquery.SchemaField]) -> bigquery.Table:
    table = bigquery.Table(f"p.d.{spec.name}", schema=fields)
    table.description = spec.description
    table.time_partitioning = bigquery.TimePartitioning(
        type_=bigquery.TimePartitioningType.DAY, field=spec.partition_by
    )
    table.clustering_fields = list(spec.cluster_by)
    table.labels = {
        "schema_version": str(spec.version),
        "managed_by": "crm-aid-bootstrap",
    }
    return table


def _with_columns(*columns: Column, version: int = 2) -> TableSpec:
    return dataclasses.replace(KYC_CHECKS, columns=columns, version=version)


def test_plan_table_identical_table_needs_nothing() -> None:
    existing = _existing(KYC_CHECKS, schema_fields(KYC_CHECKS.columns))

    plan = plan_table(KYC_CHECKS, existing)

    assert not plan.needed


def test_plan_table_new_nullable_column_is_added_at_the_end() -> None:
    existing = _existing(KYC_CHECKS, schema_fields(KYC_CHECKS.columns))
    spec = _with_columns(
        *KYC_CHECKS.columns, Column("country", "STRING", "NULLABLE", "c")
    )

    plan = plan_table(spec, existing)

    assert plan.added == ("kyc_checks.country",)
    assert [f.name for f in plan.schema][-1] == "country"
    assert "labels" in plan.changed


def test_plan_table_required_relaxed_to_nullable_is_applied() -> None:
    fields = schema_fields(KYC_CHECKS.columns)
    fields[-1] = bigquery.SchemaField(
        "decided_at", "TIMESTAMP", mode="REQUIRED", description=fields[-1].description
    )

    plan = plan_table(KYC_CHECKS, _existing(KYC_CHECKS, fields))

    assert plan.relaxed == ("kyc_checks.decided_at",)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (KYC_CHECKS.columns[:-1], "field decided_at exists but is not declared"),
        (
            (*KYC_CHECKS.columns[:-1], Column("decided_at", "DATE", "NULLABLE", "d")),
            "field decided_at expected type DATE, found TIMESTAMP",
        ),
        (
            (
                *KYC_CHECKS.columns[:-1],
                Column("decided_at", "TIMESTAMP", "REQUIRED", "d"),
            ),
            "field decided_at expected mode REQUIRED, found NULLABLE",
        ),
        (
            (*KYC_CHECKS.columns, Column("score", "INT64", "REQUIRED", "s")),
            "new field score is REQUIRED",
        ),
    ],
)
def test_plan_table_unsafe_change_names_table_and_field(
    columns: tuple[Column, ...], message: str
) -> None:
    existing = _existing(KYC_CHECKS, schema_fields(KYC_CHECKS.columns))

    with pytest.raises(SchemaChangeError) as caught:
        plan_table(_with_columns(*columns), existing)

    assert caught.value.code == "unsafe_schema_change"
    assert caught.value.detail.startswith("table kyc_checks: ")
    assert message in caught.value.detail


def test_plan_table_other_partitioning_is_refused() -> None:
    existing = _existing(KYC_CHECKS, schema_fields(KYC_CHECKS.columns))
    spec = dataclasses.replace(KYC_CHECKS, partition_by="loaded_at")

    with pytest.raises(SchemaChangeError) as caught:
        plan_table(spec, existing)

    assert "partitioning on loaded_at, found occurred_at" in caught.value.detail


def test_plan_table_newer_table_than_code_is_refused() -> None:
    existing = _existing(KYC_CHECKS, schema_fields(KYC_CHECKS.columns))
    existing.labels = {"schema_version": "7"}

    with pytest.raises(SchemaChangeError) as caught:
        plan_table(KYC_CHECKS, existing)

    assert "expected version 1 or older, found 7" in caught.value.detail


def test_plan_table_legacy_type_names_match_standard_ones() -> None:
    fields = [
        bigquery.SchemaField(
            f.name,
            {"INT64": "INTEGER", "BOOL": "BOOLEAN"}.get(f.field_type, f.field_type),
            mode=f.mode,
            description=f.description,
        )
        for f in schema_fields(KYC_CHECKS.columns)
    ]

    plan = plan_table(KYC_CHECKS, _existing(KYC_CHECKS, fields))

    assert not plan.needed


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (Column("a", "STRING"), "STRING"),
        (Column("a", "INT64", "REQUIRED"), "INT64 NOT NULL"),
        (Column("a", "STRING", "REPEATED"), "ARRAY<STRING>"),
        (
            Column(
                "a",
                "RECORD",
                "REPEATED",
                fields=(Column("b", "STRING", "REQUIRED"), Column("c", "DATE")),
            ),
            "ARRAY<STRUCT<b STRING NOT NULL, c DATE>>",
        ),
    ],
)
def test_ddl_type_writes_googlesql_column_types(column: Column, expected: str) -> None:
    assert ddl_type(column) == expected
