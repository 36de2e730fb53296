"""The customer API fuzzed from its OpenAPI document: no 5xx, every error a problem.

Bounded: a fixed number of examples per operation, so that it runs in
`make test`. The caller owns a profile, so the generated calls reach the
validation and the handlers, not only the authorisation check.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from common.customers.openapi import DOCUMENT_PATH
from emulators.platform import Platform
from tests.integration.customers.conftest import Api, User, Users, customer_body
from tests.integration.customers.contract import check_response, header

EXAMPLES_PER_OPERATION = 30


@pytest.fixture
def owner(api: Api, users: Users) -> User:
    """A caller with a profile of their own."""
    user = users.new()
    assert api.create(user, customer_body()).status_code == 201
    return user


# A file of the repository, read at collection; the server is reached only
# by the test itself.
schema = schemathesis.openapi.from_path(str(DOCUMENT_PATH))


@pytest.mark.fuzz
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzzed_request_gets_a_documented_answer_and_never_5xx(
    case: Any, platform: Platform, owner: User
) -> None:
    if "customer_id" in (case.path_parameters or {}):
        case.path_parameters["customer_id"] = owner.uid

    response = case.call(
        base_url=platform.config.url("gateway"),
        headers=owner.headers(),
        timeout=30,
    )

    assert response.status_code < 500, response.text[:300]
    check_response(case.method, case.formatted_path, response)
    if response.status_code >= 400:
        assert header(response, "Content-Type") == "application/problem+json"
        assert response.json()["code"]
