"""The bootstrap against the BigQuery emulator: create, re-run, change."""

from __future__ import annotations

import dataclasses

import pytest

from common.analytics.bootstrap import SchemaChangeError, bootstrap
from common.analytics.schema import CUSTOMER_EVENTS, TABLES, Column
from common.analytics.views import VIEWS
from tests.integration.analytics.conftest import Analytics

pytestmark = pytest.mark.integration


def test_bootstrap_creates_every_table_and_view_as_declared(
    analytics: Analytics,
) -> None:
    client, dataset = analytics.client, analytics.dataset

    listed = {t.table_id: t.table_type for t in client.list_tables(dataset)}

    assert listed == {spec.name: "TABLE" for spec in TABLES} | {
        view.name: "VIEW" for view in VIEWS
    }
    payments = client.get_table(f"{client.project}.{dataset}.payments")
    assert payments.time_partitioning.field == "occurred_at"
    assert payments.clustering_fields == ["customer_id", "provider"]
    assert payments.labels["schema_version"] == "1"
    amount = next(f for f in payments.schema if f.name == "amount_minor")
    assert (amount.field_type, amount.mode) == ("INT64", "NULLABLE")


def test_bootstrap_second_run_changes_no_table(analytics: Analytics) -> None:
    report = bootstrap(analytics.client, dataset=analytics.dataset)

    assert report.created == []
    assert set(report.unchanged) >= {analytics.dataset, *(s.name for s in TABLES)}


def test_bootstrap_every_view_query_runs(analytics: Analytics) -> None:
    for view in VIEWS:
        assert analytics.view(view.name, "1") == []


def test_bootstrap_new_nullable_column_is_added_and_rows_kept(
    analytics: Analytics,
) -> None:
    from tests.integration.analytics.conftest import message, sample

    first = sample("seed_events.json")[1]
    analytics.loader.load_message(message(first))
    grown = dataclasses.replace(
        CUSTOMER_EVENTS,
        version=2,
        columns=(
            *CUSTOMER_EVENTS.columns,
            Column("segment", "STRING", "NULLABLE", "Marketing segment."),
        ),
    )

    report = bootstrap(
        analytics.client, dataset=analytics.dataset, tables=[grown], views=[]
    )

    assert report.updated == ["customer_events"]
    rows = analytics.query("SELECT event_id, segment FROM `{dataset}.customer_events`")
    assert rows == [{"event_id": first["event_id"], "segment": None}]


def test_bootstrap_type_change_stops_and_leaves_the_table(
    analytics: Analytics,
) -> None:
    changed = dataclasses.replace(
        CUSTOMER_EVENTS,
        columns=tuple(
            dataclasses.replace(c, type="INT64") if c.name == "status" else c
            for c in CUSTOMER_EVENTS.columns
        ),
    )

    with pytest.raises(SchemaChangeError) as caught:
        bootstrap(analytics.client, dataset=analytics.dataset, tables=[changed])

    assert caught.value.detail.startswith(
        "table customer_events: field status expected type INT64, found STRING"
    )
    table = analytics.client.get_table(
        f"{analytics.client.project}.{analytics.dataset}.customer_events"
    )
    status = next(f for f in table.schema if f.name == "status")
    assert status.field_type == "STRING"
