"""The views render to fully qualified GoogleSQL, each after what it reads."""

from __future__ import annotations

import re

import pytest

from common.analytics.schema import TABLES
from common.analytics.views import VIEWS, ViewSpec

pytestmark = pytest.mark.unit

_REFERENCE_RE = re.compile(r"`proj\.crm_analytics\.([a-z0-9_]+)`")


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
def test_view_render_qualifies_every_table_and_leaves_no_marker(
    view: ViewSpec,
) -> None:
    sql = view.render("proj", "crm_analytics")

    assert "{" not in sql
    assert "}" not in sql
    assert _REFERENCE_RE.search(sql)
    assert not re.search(r"FROM\s+[a-z_]+\.", sql)


def test_views_each_reads_only_tables_and_earlier_views() -> None:
    known = {spec.name for spec in TABLES}
    for view in VIEWS:
        read = set(_REFERENCE_RE.findall(view.render("proj", "crm_analytics")))

        assert read <= known, view.name
        known.add(view.name)


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: view.name)
def test_view_dedupes_what_it_reads_from_event_tables(view: ViewSpec) -> None:
    sql = view.render("proj", "crm_analytics")
    event_tables = {"customer_events", "payments", "kyc_checks", "settlement_lines"}

    read = set(_REFERENCE_RE.findall(sql)) & event_tables
    deduped = len(re.findall(r"PARTITION BY (?:event_id|line_id) ORDER BY", sql))

    assert deduped == len(read)
