"""Catalogue: the schema of every domain event's data, by type and version.

Each domain declares its event data models in ``common/<domain>/events.py``
as ``EVENT_SCHEMAS``, keyed by ``(event_type, schema_version)``, for event
types that start with the domain's name; ``DOMAIN_EVENT_MODULES`` lists the
domains. Producers build their events' data from these models, and the
BigQuery loader validates against them.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping

from pydantic import BaseModel

from common.errors import InvalidEventError

# The module of each domain, by the first part of its event types. The
# loader of one topic needs one domain: each is imported on first use.
DOMAIN_EVENT_MODULES: Mapping[str, str] = {
    "customer": "common.customers.events",
    "payment": "common.payments.events",
    "kyc": "common.kyc.events",
}

SchemaKey = tuple[str, int]


@functools.cache
def domain_schemas(domain: str) -> Mapping[SchemaKey, type[BaseModel]]:
    """Return the event data models of one domain; none for an unknown one.

    Raises:
        RuntimeError: the domain's module declares another domain's events.
    """
    name = DOMAIN_EVENT_MODULES.get(domain)
    if name is None:
        return {}
    schemas: Mapping[SchemaKey, type[BaseModel]] = importlib.import_module(
        name
    ).EVENT_SCHEMAS
    strays = sorted({t for t, _ in schemas if _domain(t) != domain})
    if strays:
        raise RuntimeError(f"{name} declares events of another domain: {strays}")
    return schemas


@functools.cache
def event_schemas() -> Mapping[SchemaKey, type[BaseModel]]:
    """Return every event data model of every domain, by type and version."""
    merged: dict[SchemaKey, type[BaseModel]] = {}
    for domain in DOMAIN_EVENT_MODULES:
        merged.update(domain_schemas(domain))
    return merged


def event_schema(event_type: str, schema_version: int) -> type[BaseModel]:
    """Return the data model of one event type at one schema version.

    Raises:
        InvalidEventError: the type, or that version of it, is not catalogued;
            no retry can fix it.
    """
    schemas = domain_schemas(_domain(event_type))
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


def _domain(event_type: str) -> str:
    return event_type.split(".", 1)[0]
