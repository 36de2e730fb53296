"""Queries: GoogleSQL against the analytics dataset, with named parameters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from common.analytics.schema import DATASET
from common.errors import google_errors

if TYPE_CHECKING:
    from google.cloud import bigquery

DEFAULT_RESULT_TIMEOUT_S = 60.0


def query_rows(
    client: bigquery.Client,
    sql: str,
    parameters: Mapping[str, str | int | bool | datetime] | None = None,
    *,
    dataset: str = DATASET,
    retry_timeout_s: float | None = None,
) -> list[dict[str, Any]]:
    """Run ``sql``, with ``{dataset}`` for `project.dataset`; return dict rows.

    ``retry_timeout_s`` bounds the client's retries, which otherwise last up
    to 600 s against an emulator that answers 500 (EMULATORS.md).

    Raises:
        UnavailableError: BigQuery failed transiently.
        InternalError: BigQuery refused the query.
    """
    from google.api_core.retry import Retry
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(name, _parameter_type(value), value)
            for name, value in (parameters or {}).items()
        ]
    )
    qualified = sql.replace("{dataset}", f"{client.project}.{dataset}")
    retry = Retry(timeout=retry_timeout_s) if retry_timeout_s else None
    with google_errors():
        if retry is None:
            job = client.query(qualified, job_config=config)
            rows = job.result(timeout=DEFAULT_RESULT_TIMEOUT_S)
        else:
            job = client.query(
                qualified, job_config=config, retry=retry, job_retry=None
            )
            rows = job.result(timeout=DEFAULT_RESULT_TIMEOUT_S, retry=retry)
        return [dict(row) for row in rows]


def _parameter_type(value: object) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    return "STRING"
