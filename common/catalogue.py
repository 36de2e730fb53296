"""Catalogue: the schema of every domain event's data, by type and version.

Each domain declares its event data models in ``common/<domain>/events.py``
as ``EVENT_SCHEMAS``, keyed by ``(event_type, schema_version)``; this module
merges the domains listed in ``DOMAIN_EVENT_MODULES``. Producers build their
events' data from these models, and the BigQuery loader validates against
them.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping

from pydantic import BaseModel

from common.errors import InvalidEventError

DOMAIN_EVENT_MODULES: tuple[str, ...] = (
    "common.customers.events",
    "common.payments.events",
    "common.kyc.events",
)

SchemaKey = tuple[str, int]


@functools.cache
def event_schemas() -> Mapping[SchemaKey, type[BaseModel]]:
    """Return every event data model of every domain, by type and version."""
    merged: dict[SchemaKey, type[BaseModel]] = {}
    for name in DOMAIN_EVENT_MODULES:
        schemas: Mapping[SchemaKey, type[BaseModel]] = importlib.import_module(
            name
        ).EVENT_SCHEMAS
        clash = merged.keys() & schemas.keys()
        if clash:
            raise RuntimeError(f"{name} declares event schemas twice: {sorted(clash)}")
        merged.update(schemas)
    return merged


def event_schema(event_type: str, schema_version: int) -> type[BaseModel]:
    """Return the data model of one event type at one schema version.

    Raises:
        InvalidEventError: the type, or that version of it, is not catalogued;
            no retry can fix it.
    """
    schemas = event_schemas()
    schema = schemas.get((event_type, schema_version))
    if schema is not None:
        return schema

    if any(known == event_type for known, _ in schemas):
        raise InvalidEventError(
            f"expected a known schema version of {event_type}, found {schema_version}",
            code="unknown_schema_version",
        )
    raise InvalidEventError(
        "expected a catalogued event type, found one that is not",
        code="unknown_event_type",
    )
