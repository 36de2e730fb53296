"""Unit tests of common.problems: RFC 9457 problem+json responses."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest

from common.errors import (
    FieldError,
    MethodNotAllowedError,
    NotFoundError,
    RequestInProgressError,
    UnavailableError,
    ValidationError,
)
from common.problems import (
    PROBLEM_CONTENT_TYPE,
    internal_error_response,
    problem_body,
    problem_response,
    problem_type,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def request_context() -> Iterator[None]:
    app = flask.Flask(__name__)
    with app.test_request_context("/v1/customers/c-1"):
        yield


def test_problem_body_not_found_has_rfc_members_without_errors() -> None:
    body = problem_body(NotFoundError())

    assert body == {
        "type": "https://errors.crm-aid.dev/not_found",
        "title": "Not found",
        "status": 404,
        "detail": "The resource does not exist.",
        "code": "not_found",
    }


def test_problem_body_validation_lists_each_field() -> None:
    error = ValidationError(
        field_errors=[
            FieldError("phone", "invalid_phone", "Expected E.164."),
            FieldError("country", "missing", "Field required"),
        ]
    )

    body = problem_body(error)

    assert body["status"] == 422
    assert body["code"] == "validation_failed"
    assert body["errors"] == [
        {"field": "phone", "code": "invalid_phone", "message": "Expected E.164."},
        {"field": "country", "code": "missing", "message": "Field required"},
    ]


def test_problem_body_instance_given_is_included() -> None:
    body = problem_body(NotFoundError(), instance="/v1/customers/c-1")

    assert body["instance"] == "/v1/customers/c-1"


def test_problem_type_specific_code_gives_its_own_uri() -> None:
    assert problem_type("email_taken") == "https://errors.crm-aid.dev/email_taken"


@pytest.mark.usefixtures("request_context")
def test_problem_response_not_found_is_problem_json() -> None:
    response = problem_response(NotFoundError("No such customer."))

    assert response.status_code == 404
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.get_json(force=True) == problem_body(
        NotFoundError("No such customer.")
    )
    assert "Retry-After" not in response.headers


@pytest.mark.usefixtures("request_context")
def test_problem_response_retryable_503_has_retry_after() -> None:
    response = problem_response(UnavailableError())

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


@pytest.mark.usefixtures("request_context")
def test_problem_response_retryable_409_has_no_retry_after() -> None:
    response = problem_response(RequestInProgressError())

    assert response.status_code == 409
    assert "Retry-After" not in response.headers


@pytest.mark.usefixtures("request_context")
def test_problem_response_method_not_allowed_has_allow_header() -> None:
    response = problem_response(MethodNotAllowedError(allowed=("GET", "PATCH")))

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PATCH"


@pytest.mark.usefixtures("request_context")
def test_internal_error_response_says_nothing_of_the_cause() -> None:
    response = internal_error_response()

    body = response.get_json(force=True)
    assert response.status_code == 500
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert body["code"] == "internal_error"
    assert body["type"] == "https://errors.crm-aid.dev/internal_error"
    assert body["detail"] == "The request could not be completed."
    assert "errors" not in body
