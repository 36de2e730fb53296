"""Bootstrap: bring the dataset in line with the declared tables and views.

It creates what is missing and applies the changes BigQuery applies safely to
a table with rows: new NULLABLE or REPEATED columns, a REQUIRED column relaxed
to NULLABLE, new descriptions, labels and clustering. Anything else (a
changed type, a removed column, a new REQUIRED column, another partitioning,
a table newer than the code) stops it with SchemaChangeError naming the table
and field, before that table is touched. Views are replaced whenever their
query or version differs. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from common.analytics.schema import (
    DATASET,
    DATASET_DESCRIPTION,
    MANAGED_BY,
    MANAGED_LABEL,
    TABLES,
    VERSION_LABEL,
    Column,
    TableSpec,
)
from common.analytics.views import VIEWS, ViewSpec
from common.errors import CrmError, google_errors
from common.logs import log_fields

if TYPE_CHECKING:
    from google.cloud import bigquery

# BigQuery answers legacy names for some standard SQL types.
_TYPE_ALIASES = {
    "INTEGER": "INT64",
    "BOOLEAN": "BOOL",
    "FLOAT": "FLOAT64",
    "STRUCT": "RECORD",
    "BIGNUMERIC": "BIGNUMERIC",
}

logger = logging.getLogger(__name__)


class SchemaChangeError(CrmError):
    """The dataset holds a change the bootstrap must not apply by itself."""

    code = "unsafe_schema_change"
    title = "Unsafe schema change"
    detail = "The declared schema cannot be applied to the existing table."


@dataclass
class BootstrapReport:
    """What one bootstrap run did, by table or view name."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TablePlan:
    """The additive changes one existing table needs."""

    schema: list[bigquery.SchemaField]
    new_columns: tuple[Column, ...]
    added: tuple[str, ...]
    relaxed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def needed(self) -> bool:
        """Whether the table must be updated at all."""
        return bool(self.added or self.relaxed or self.changed)


def bootstrap(
    client: bigquery.Client,
    *,
    dataset: str = DATASET,
    location: str | None = None,
    tables: Sequence[TableSpec] = TABLES,
    views: Sequence[ViewSpec] = VIEWS,
) -> BootstrapReport:
    """Create or update the dataset, its tables and its views.

    Raises:
        SchemaChangeError: a table differs in a way that is not additive.
        UnavailableError: BigQuery did not answer; running it again is safe.
    """
    report = BootstrapReport()
    with google_errors():
        _ensure_dataset(client, dataset, location, report)
        for spec in tables:
            _ensure_table(client, dataset, spec, report)
        for view in views:
            _ensure_view(client, dataset, view, report)

    logger.info(
        "bigquery bootstrapped",
        extra=log_fields(
            dataset=dataset,
            created=report.created,
            updated=report.updated,
            unchanged=len(report.unchanged),
        ),
    )
    return report


def plan_table(spec: TableSpec, existing: bigquery.Table) -> TablePlan:
    """Compare an existing table with its spec; return the changes it needs.

    Raises:
        SchemaChangeError: the difference is not additive.
    """
    _check_version(f"table {spec.name}", spec.version, existing.labels)
    partition = existing.time_partitioning
    if partition is None or partition.field != spec.partition_by:
        found = partition.field if partition is not None else "none"
        raise SchemaChangeError(
            f"table {spec.name}: expected day partitioning on {spec.partition_by}, "
            f"found {found}; re-create the table to change it"
        )

    schema, added, relaxed, changed = _merge_fields(
        spec.name, spec.columns, list(existing.schema)
    )
    if (existing.description or "") != spec.description:
        changed.append("description")
    if tuple(existing.clustering_fields or ()) != spec.cluster_by:
        changed.append("clustering")
    if not _has_labels(existing.labels, spec.version):
        changed.append("labels")
    known = {current.name for current in existing.schema}
    new_columns = tuple(c for c in spec.columns if c.name not in known)
    return TablePlan(schema, new_columns, tuple(added), tuple(relaxed), tuple(changed))


def schema_fields(columns: Sequence[Column]) -> list[bigquery.SchemaField]:
    """Return the BigQuery fields of declared columns."""
    from google.cloud import bigquery

    return [
        bigquery.SchemaField(
            column.name,
            column.type,
            mode=column.mode,
            description=column.description,
            fields=schema_fields(column.fields),
        )
        for column in columns
    ]


def _ensure_dataset(
    client: bigquery.Client,
    dataset: str,
    location: str | None,
    report: BootstrapReport,
) -> None:
    from google.api_core.exceptions import NotFound
    from google.cloud import bigquery

    reference = f"{client.project}.{dataset}"
    try:
        client.get_dataset(reference)
    except NotFound:
        wanted = bigquery.Dataset(reference)
        wanted.description = DATASET_DESCRIPTION
        wanted.labels = {MANAGED_LABEL: MANAGED_BY}
        if location:
            wanted.location = location
        client.create_dataset(wanted, exists_ok=True)
        report.created.append(dataset)
        return
    report.unchanged.append(dataset)


def _ensure_table(
    client: bigquery.Client, dataset: str, spec: TableSpec, report: BootstrapReport
) -> None:
    from google.api_core.exceptions import NotFound

    reference = f"{client.project}.{dataset}.{spec.name}"
    try:
        existing = client.get_table(reference)
    except NotFound:
        client.create_table(_new_table(reference, spec), exists_ok=True)
        report.created.append(spec.name)
        return

    plan = plan_table(spec, existing)
    if not plan.needed:
        report.unchanged.append(spec.name)
        return
    if plan.new_columns:
        # DDL first: it adds the columns to the data as well as to the
        # metadata, where the emulator's tables.patch changes only the latter.
        _add_columns(client, reference, plan.new_columns)
        existing = client.get_table(reference)
    existing.schema = plan.schema
    existing.description = spec.description
    existing.clustering_fields = list(spec.cluster_by)
    existing.labels = _labels(spec.version)
    client.update_table(
        existing, ["schema", "description", "clustering_fields", "labels"]
    )
    logger.info(
        "bigquery table updated",
        extra=log_fields(
            table=spec.name,
            added=plan.added,
            relaxed=plan.relaxed,
            changed=plan.changed,
        ),
    )
    report.updated.append(spec.name)


def _add_columns(
    client: bigquery.Client, reference: str, columns: Sequence[Column]
) -> None:
    for column in columns:
        statement = (
            f"ALTER TABLE `{reference}` ADD COLUMN IF NOT EXISTS "
            f"{column.name} {ddl_type(column)}"
        )
        client.query(statement).result()


def ddl_type(column: Column) -> str:
    """Return a column's type as GoogleSQL DDL writes it."""
    if column.type == "RECORD":
        fields = ", ".join(f"{f.name} {ddl_type(f)}" for f in column.fields)
        base = f"STRUCT<{fields}>"
    else:
        base = column.type
    if column.mode == "REPEATED":
        return f"ARRAY<{base}>"
    return f"{base} NOT NULL" if column.mode == "REQUIRED" else base


def _new_table(reference: str, spec: TableSpec) -> bigquery.Table:
    from google.cloud import bigquery

    table = bigquery.Table(reference, schema=schema_fields(spec.columns))
    table.description = spec.description
    table.labels = _labels(spec.version)
    table.time_partitioning = bigquery.TimePartitioning(
        type_=bigquery.TimePartitioningType.DAY, field=spec.partition_by
    )
    table.clustering_fields = list(spec.cluster_by)
    return table


def _ensure_view(
    client: bigquery.Client, dataset: str, view: ViewSpec, report: BootstrapReport
) -> None:
    from google.api_core.exceptions import NotFound
    from google.cloud import bigquery

    reference = f"{client.project}.{dataset}.{view.name}"
    query = view.render(client.project, dataset)
    try:
        existing = client.get_table(reference)
    except NotFound:
        wanted = bigquery.Table(reference)
        wanted.view_query = query
        wanted.description = view.description
        wanted.labels = _labels(view.version)
        client.create_table(wanted, exists_ok=True)
        report.created.append(view.name)
        return

    _check_version(f"view {view.name}", view.version, existing.labels)
    # The emulator does not answer a view's query, so there it is always
    # replaced; production answers it and an unchanged view is left alone.
    if existing.view_query == query and _has_labels(existing.labels, view.version):
        report.unchanged.append(view.name)
        return
    existing.view_query = query
    existing.description = view.description
    existing.labels = _labels(view.version)
    client.update_table(existing, ["view_query", "description", "labels"])
    report.updated.append(view.name)


def _merge_fields(
    where: str, columns: Sequence[Column], existing: list[bigquery.SchemaField]
) -> tuple[list[bigquery.SchemaField], list[str], list[str], list[str]]:
    """Merge declared columns into existing fields, keeping their order."""
    declared = {column.name: column for column in columns}
    merged, added, relaxed, changed = [], [], [], []
    for current in existing:
        column = declared.get(current.name)
        if column is None:
            raise SchemaChangeError(
                f"table {where}: field {current.name} exists but is not declared; "
                "removing a column is not applied"
            )
        field_, field_relaxed, field_changed = _merge_field(where, column, current)
        merged.append(field_)
        relaxed += field_relaxed
        changed += field_changed

    known = {current.name for current in existing}
    for column in columns:
        if column.name in known:
            continue
        if column.mode == "REQUIRED":
            raise SchemaChangeError(
                f"table {where}: new field {column.name} is REQUIRED; a new "
                "column must be NULLABLE or REPEATED"
            )
        merged += schema_fields([column])
        added.append(f"{where}.{column.name}")
    return merged, added, relaxed, changed


def _merge_field(
    where: str, column: Column, current: bigquery.SchemaField
) -> tuple[bigquery.SchemaField, list[str], list[str]]:
    from google.cloud import bigquery

    path = f"{where}.{column.name}"
    found_type = _TYPE_ALIASES.get(current.field_type or "", current.field_type)
    if found_type != column.type:
        raise SchemaChangeError(
            f"table {where}: field {column.name} expected type {column.type}, "
            f"found {found_type}; changing a type is not applied"
        )
    found_mode = current.mode or "NULLABLE"
    relaxed = []
    if found_mode != column.mode:
        if (found_mode, column.mode) != ("REQUIRED", "NULLABLE"):
            raise SchemaChangeError(
                f"table {where}: field {column.name} expected mode {column.mode}, "
                f"found {found_mode}; only REQUIRED to NULLABLE is applied"
            )
        relaxed.append(path)

    sub_fields: list[bigquery.SchemaField] = []
    changed = [] if (current.description or "") == column.description else [path]
    if column.type == "RECORD":
        sub_fields, added, sub_relaxed, sub_changed = _merge_fields(
            path, column.fields, list(current.fields)
        )
        relaxed += sub_relaxed
        changed += added + sub_changed
    merged = bigquery.SchemaField(
        column.name,
        column.type,
        mode=column.mode,
        description=column.description,
        fields=sub_fields,
    )
    return merged, relaxed, changed


def _check_version(what: str, version: int, labels: dict[str, str] | None) -> None:
    found = (labels or {}).get(VERSION_LABEL, "")
    if found.isdigit() and int(found) > version:
        raise SchemaChangeError(
            f"{what}: expected version {version} or older, found "
            f"{found}; deploy the code that declares it"
        )


def _has_labels(labels: dict[str, str] | None, version: int) -> bool:
    found = labels or {}
    return all(found.get(k) == v for k, v in _labels(version).items())


def _labels(version: int) -> dict[str, str]:
    return {VERSION_LABEL: str(version), MANAGED_LABEL: MANAGED_BY}
