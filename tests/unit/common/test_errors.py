"""Unit tests of common.errors: the error tree and the wrapping of Google errors."""

from __future__ import annotations

from typing import Any, cast

import pydantic
import pytest
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

from common.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CrmError,
    FieldError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    InternalError,
    InvalidEventError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    PreconditionRequiredError,
    RequestInProgressError,
    SecretNotConfiguredError,
    UnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
    validation_error_from_pydantic,
    wrap_google_error,
)

pytestmark = pytest.mark.unit


def foreign_error(kind: Any, *args: Any) -> Exception:
    """Build a Google library error; their constructors are unannotated."""
    return cast(Exception, kind(*args))


@pytest.mark.parametrize(
    ("error_class", "status", "code", "retryable"),
    [
        (CrmError, 500, "internal_error", False),
        (InternalError, 500, "internal_error", False),
        (SecretNotConfiguredError, 500, "secret_not_configured", False),
        (BadRequestError, 400, "bad_request", False),
        (InvalidEventError, 400, "invalid_event", False),
        (AuthenticationError, 401, "unauthenticated", False),
        (ForbiddenError, 403, "forbidden", False),
        (NotFoundError, 404, "not_found", False),
        (MethodNotAllowedError, 405, "method_not_allowed", False),
        (ConflictError, 409, "conflict", False),
        (RequestInProgressError, 409, "request_in_progress", True),
        (PreconditionFailedError, 412, "precondition_failed", False),
        (PayloadTooLargeError, 413, "payload_too_large", False),
        (UnsupportedMediaTypeError, 415, "unsupported_media_type", False),
        (ValidationError, 422, "validation_failed", False),
        (IdempotencyKeyReusedError, 422, "idempotency_key_reused", False),
        (PreconditionRequiredError, 428, "precondition_required", False),
        (UnavailableError, 503, "dependency_unavailable", True),
    ],
)
def test_error_class_defaults_match_the_tree(
    error_class: type[CrmError], status: int, code: str, retryable: bool
) -> None:
    error = error_class()

    assert (error.http_status, error.code, error.retryable) == (
        status,
        code,
        retryable,
    )
    assert error.title
    assert error.detail
    assert error.field_errors == []


def test_error_specific_code_keeps_class_status() -> None:
    error = ConflictError("The e-mail is taken.", code="email_taken")

    assert error.code == "email_taken"
    assert error.http_status == 409
    assert type(error).code == "conflict"


def test_error_str_is_the_safe_detail() -> None:
    error = NotFoundError("No such customer.")

    assert str(error) == "No such customer."
    assert "not_found" in repr(error)


def test_error_retryable_override_changes_only_the_instance() -> None:
    error = InternalError(retryable=True)

    assert error.retryable is True
    assert InternalError.retryable is False


def test_validation_error_field_errors_are_kept() -> None:
    fields = [FieldError("email", "invalid_email", "Not an e-mail address.")]

    error = ValidationError(field_errors=fields)

    assert error.field_errors == fields
    assert fields[0].to_dict() == {
        "field": "email",
        "code": "invalid_email",
        "message": "Not an e-mail address.",
    }


@pytest.mark.parametrize(
    ("error", "headers"),
    [
        (MethodNotAllowedError(allowed=("GET", "PATCH")), {"Allow": "GET, PATCH"}),
        (AuthenticationError(challenge="Bearer"), {"WWW-Authenticate": "Bearer"}),
        (AuthenticationError(), {}),
        (NotFoundError(), {}),
    ],
)
def test_error_response_headers_match_status(
    error: CrmError, headers: dict[str, str]
) -> None:
    assert error.response_headers() == headers


class _Address(pydantic.BaseModel):
    postal_code: str = pydantic.Field(max_length=4)


class _Profile(pydantic.BaseModel):
    email: str
    address: _Address


def test_validation_error_from_pydantic_lists_fields_without_input() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        _Profile.model_validate({"address": {"postal_code": "SECRET-12345"}})

    error = validation_error_from_pydantic(caught.value)

    assert [(f.field, f.code) for f in error.field_errors] == [
        ("email", "missing"),
        ("address.postal_code", "string_too_long"),
    ]
    assert all("SECRET" not in f.message for f in error.field_errors)


def test_validation_error_from_pydantic_prefix_is_prepended() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        _Address.model_validate({})

    error = validation_error_from_pydantic(caught.value, prefix="address")

    assert error.field_errors[0].field == "address.postal_code"


@pytest.mark.parametrize(
    "foreign",
    [
        foreign_error(api_exceptions.ServiceUnavailable, "backend down at 10.0.0.7"),
        foreign_error(api_exceptions.DeadlineExceeded, "deadline"),
        foreign_error(api_exceptions.InternalServerError, "boom"),
        foreign_error(api_exceptions.BadGateway, "bad gateway"),
        foreign_error(api_exceptions.GatewayTimeout, "gateway timeout"),
        foreign_error(api_exceptions.TooManyRequests, "slow down"),
        foreign_error(api_exceptions.Aborted, "contention"),
        foreign_error(api_exceptions.RetryError, "gave up", None),
        foreign_error(auth_exceptions.TransportError, "no route"),
        requests.ConnectionError("refused"),
        requests.Timeout("read timeout"),
        ConnectionRefusedError("refused"),
        TimeoutError("timeout"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_wrap_google_error_transient_returns_retryable_unavailable(
    foreign: Exception,
) -> None:
    error = wrap_google_error(foreign)

    assert isinstance(error, UnavailableError)
    assert error.retryable is True
    assert error.code == "dependency_unavailable"
    assert str(foreign) not in error.detail


@pytest.mark.parametrize(
    "foreign",
    [
        foreign_error(api_exceptions.NotFound, "projects/p/secrets/x"),
        foreign_error(api_exceptions.PermissionDenied, "denied to sa@p.iam"),
        foreign_error(api_exceptions.InvalidArgument, "bad"),
        ValueError("unrelated"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_wrap_google_error_permanent_returns_internal_error(
    foreign: Exception,
) -> None:
    error = wrap_google_error(foreign)

    assert type(error) is InternalError
    assert error.retryable is False
    assert error.http_status == 500
    assert str(foreign) not in error.detail


def test_wrap_google_error_crm_error_returns_it_unchanged() -> None:
    original = NotFoundError()

    assert wrap_google_error(original) is original
