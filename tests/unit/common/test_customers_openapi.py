"""The checked-in OpenAPI document is the one the models generate."""

from __future__ import annotations

import json

import pytest

from common.customers.openapi import DOCUMENT_PATH, render

pytestmark = pytest.mark.unit


def test_checked_in_openapi_document_matches_the_models() -> None:
    assert DOCUMENT_PATH.read_text() == render(), (
        "functions/customers/openapi.json is stale: run "
        "python -m common.customers.openapi"
    )


def test_openapi_document_is_a_valid_openapi_3_1_document() -> None:
    from openapi_spec_validator import validate

    validate(json.loads(DOCUMENT_PATH.read_text()))
