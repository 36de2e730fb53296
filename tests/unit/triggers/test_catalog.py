"""The trigger catalogue: the product's definitions load, broken ones fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from triggers import (
    DEFAULT_DEFINITIONS,
    PubSubTrigger,
    StorageTrigger,
    TriggerDefinitionError,
    load_catalog,
    parse_catalog,
)

SOURCE = "functions/dead_letters/main.py"


def _document(**functions: dict[str, Any]) -> dict[str, Any]:
    return {
        "topics": ["payment-events", "dead-letters"],
        "buckets": ["payment-files"],
        "dead_letter_topic": "dead-letters",
        "functions": functions,
    }


def _function(**overrides: Any) -> dict[str, Any]:
    return {
        "source": SOURCE,
        "entry_point": "handle",
        "trigger": {"kind": "pubsub", "topic": "payment-events"},
    } | overrides


def test_load_catalog_product_definitions_are_valid() -> None:
    catalog = load_catalog()

    names = [function.name for function in catalog.functions]
    assert "dead_letters" in names
    assert set(catalog.topics) >= {
        "customer-events",
        "payment-events",
        "kyc-events",
        "dead-letters",
    }
    assert set(catalog.buckets) >= {"payment-files", "kyc-uploads", "quarantine"}


def test_load_catalog_dead_letters_does_not_dead_letter_into_itself() -> None:
    dead_letters = load_catalog().function("dead_letters")

    assert isinstance(dead_letters.trigger, PubSubTrigger)
    assert dead_letters.trigger.topic == "dead-letters"
    assert dead_letters.dead_letter is False


def test_parse_catalog_valid_function_gets_defaults() -> None:
    catalog = parse_catalog([_document(loader=_function())])

    loader = catalog.function("loader")
    assert loader.timeout_s == 60
    assert loader.retry is True
    assert loader.max_delivery_attempts == 5
    assert loader.signature_type == "cloudevent"
    assert loader.service_name == "loader"


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (
            _function(trigger={"kind": "pubsub", "topic": "nowhere"}),
            "function 'broken': field 'trigger.topic': unknown topic 'nowhere'",
        ),
        (
            _function(trigger={"kind": "storage"}),
            "function 'broken': field 'trigger.bucket': Field required",
        ),
        (
            _function(trigger={"kind": "storage", "bucket": "elsewhere"}),
            "function 'broken': field 'trigger.bucket': unknown bucket 'elsewhere'",
        ),
        (
            _function(trigger={"kind": "ftp"}),
            "function 'broken': field 'trigger': Input tag 'ftp'",
        ),
        (
            _function(source="functions/none/main.py"),
            "function 'broken': field 'definition': source: no file at",
        ),
        (
            _function(memory="lots"),
            "function 'broken': field 'memory': String should match pattern",
        ),
        (
            _function(timeout_s=900),
            "function 'broken': field 'definition': timeout_s: event functions",
        ),
        (
            _function(env={"PORT": "1"}),
            "function 'broken': field 'definition': env: reserved variable PORT",
        ),
        (
            _function(retries=3),
            "function 'broken': field 'retries': Extra inputs are not permitted",
        ),
    ],
)
def test_parse_catalog_broken_definition_names_function_and_field(
    function: dict[str, Any], expected: str
) -> None:
    with pytest.raises(TriggerDefinitionError) as raised:
        parse_catalog([_document(broken=function)])

    assert expected in str(raised.value)


def test_parse_catalog_two_functions_on_one_path_is_rejected() -> None:
    http = {"kind": "http", "path_prefix": "/v1/customers"}
    document = _document(first=_function(trigger=http), second=_function(trigger=http))

    with pytest.raises(TriggerDefinitionError) as raised:
        parse_catalog([document])

    assert str(raised.value) == (
        "function 'second': field 'trigger.path_prefix': /v1/customers is "
        "already served by function 'first'"
    )


def test_parse_catalog_exact_path_owned_twice_is_rejected() -> None:
    first = {"kind": "http", "path_prefix": "/v1/a", "paths": ["/v1/openapi.json"]}
    second = {"kind": "http", "path_prefix": "/v1/b", "paths": ["/v1/openapi.json"]}
    document = _document(
        first=_function(trigger=first), second=_function(trigger=second)
    )

    with pytest.raises(TriggerDefinitionError) as raised:
        parse_catalog([document])

    assert str(raised.value) == (
        "function 'second': field 'trigger.paths': /v1/openapi.json is "
        "already served by function 'first'"
    )


def test_http_routes_include_exact_paths() -> None:
    trigger = {"kind": "http", "path_prefix": "/v1/a", "paths": ["/v1/openapi.json"]}
    catalog = parse_catalog([_document(api=_function(trigger=trigger))])

    assert set(catalog.http_routes()) == {"/v1/a", "/v1/openapi.json"}


def test_parse_catalog_unknown_dead_letter_topic_is_rejected() -> None:
    document = _document() | {"dead_letter_topic": "graveyard"}

    with pytest.raises(TriggerDefinitionError, match="unknown topic 'graveyard'"):
        parse_catalog([document])


def test_parse_catalog_shared_env_reaches_every_function_own_env_wins() -> None:
    document = _document(
        plain=_function(),
        own=_function(env={"MODE": "own", "EXTRA": "1"}),
    ) | {"env": {"MODE": "shared", "COMMON": "yes"}}
    extra = {"functions": {"tested": _function()}}

    catalog = parse_catalog([document, extra])

    assert catalog.function("plain").env == {"MODE": "shared", "COMMON": "yes"}
    assert catalog.function("own").env == {"MODE": "own", "COMMON": "yes", "EXTRA": "1"}
    assert catalog.function("tested").env == {"MODE": "shared", "COMMON": "yes"}


def test_parse_catalog_shared_env_reserved_variable_is_rejected() -> None:
    document = _document(plain=_function()) | {"env": {"K_SERVICE": "x"}}

    with pytest.raises(TriggerDefinitionError) as raised:
        parse_catalog([document])

    assert str(raised.value) == (
        "catalogue: field 'definition': env: reserved variable K_SERVICE"
    )


def test_parse_catalog_extra_file_adds_topics_but_redefines_no_function() -> None:
    extra = {"topics": ["test-inbox"], "functions": {"probe": _function()}}
    catalog = parse_catalog([_document(loader=_function()), extra])

    assert "test-inbox" in catalog.topics
    assert {f.name for f in catalog.functions} == {"loader", "probe"}
    with pytest.raises(TriggerDefinitionError, match="'loader': defined twice"):
        parse_catalog([_document(loader=_function()), {"functions": {"loader": {}}}])


def test_load_catalog_unreadable_file_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("functions = [unclosed")

    with pytest.raises(TriggerDefinitionError, match=r"broken\.toml: cannot be read"):
        load_catalog((DEFAULT_DEFINITIONS, broken))


@pytest.mark.parametrize(
    ("bucket", "name", "expected"),
    [
        ("payment-files", "settlements/stripe/a.csv", True),
        ("payment-files", "settlements", False),
        ("payment-files", "reports/settlements/stripe/a.csv", False),
        ("kyc-uploads", "settlements/stripe/a.csv", False),
    ],
)
def test_storage_trigger_matches_bucket_and_prefix(
    bucket: str, name: str, expected: bool
) -> None:
    trigger = StorageTrigger(
        kind="storage", bucket="payment-files", object_prefix="settlements/"
    )

    assert trigger.matches(bucket, name) is expected
