"""Unit tests of common.catalogue: event data schemas by type and version."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from common import catalogue
from common.errors import InvalidEventError
from common.events import EVENT_TYPE_PATTERN

pytestmark = pytest.mark.unit


class ThingCreatedV1(BaseModel):
    thing_id: str


class ThingCreatedV2(BaseModel):
    thing_id: str
    colour: str


def _domain(name: str, schemas: dict[tuple[str, int], type[BaseModel]]) -> str:
    module = types.ModuleType(name)
    module.EVENT_SCHEMAS = schemas  # type: ignore[attr-defined]
    sys.modules[name] = module
    return name


def _clear_caches() -> None:
    catalogue.domain_schemas.cache_clear()
    catalogue.event_schemas.cache_clear()


@pytest.fixture
def domains(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    names: dict[str, str] = {}
    monkeypatch.setattr(catalogue, "DOMAIN_EVENT_MODULES", names)
    _clear_caches()
    yield names
    for name in names.values():
        sys.modules.pop(name, None)
    _clear_caches()


def test_event_schema_known_type_and_version_is_found(
    domains: dict[str, str],
) -> None:
    domains["thing"] = _domain(
        "fake_things",
        {
            ("thing.item.created", 1): ThingCreatedV1,
            ("thing.item.created", 2): ThingCreatedV2,
        },
    )

    assert catalogue.event_schema("thing.item.created", 1) is ThingCreatedV1
    assert catalogue.event_schema("thing.item.created", 2) is ThingCreatedV2


@pytest.mark.parametrize(
    ("event_type", "version", "code"),
    [
        ("thing.item.created", 3, "unknown_schema_version"),
        ("thing.item.deleted", 1, "unknown_event_type"),
        ("widget.item.created", 1, "unknown_event_type"),
    ],
)
def test_event_schema_unknown_is_a_permanent_error(
    domains: dict[str, str], event_type: str, version: int, code: str
) -> None:
    domains["thing"] = _domain(
        "fake_things", {("thing.item.created", 1): ThingCreatedV1}
    )

    with pytest.raises(InvalidEventError) as raised:
        catalogue.event_schema(event_type, version)

    assert raised.value.code == code
    assert raised.value.retryable is False


def test_event_schemas_of_another_domain_fail_loudly(
    domains: dict[str, str],
) -> None:
    domains["thing"] = _domain("fake_one", {("thing.item.created", 1): ThingCreatedV1})
    domains["other"] = _domain("fake_two", {("thing.item.created", 2): ThingCreatedV2})

    with pytest.raises(RuntimeError, match="fake_two declares events of another"):
        catalogue.event_schemas()


def test_event_schema_imports_only_the_domain_of_the_event(
    domains: dict[str, str],
) -> None:
    domains["thing"] = _domain("fake_one", {("thing.item.created", 1): ThingCreatedV1})
    domains["other"] = "fake_not_importable"

    assert catalogue.event_schema("thing.item.created", 1) is ThingCreatedV1


def test_event_schemas_of_the_product_load_and_follow_the_naming_rule() -> None:
    _clear_caches()

    schemas = catalogue.event_schemas()

    assert {event_type.split(".")[0] for event_type, _ in schemas} == {
        "customer",
        "payment",
        "kyc",
    }
    assert all(re.fullmatch(EVENT_TYPE_PATTERN, t) for t, _ in schemas)
