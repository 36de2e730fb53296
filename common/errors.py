"""Errors: the one exception tree that every function raises and maps.

Each error carries a stable snake_case ``code``, the HTTP status it answers,
whether a retry can fix it, and a client-safe ``title`` and ``detail``::

    CrmError                        500  internal_error
     ├── InternalError              500  internal_error
     ├── SecretNotConfiguredError   500  secret_not_configured
     ├── BadRequestError            400  bad_request
     ├── InvalidEventError          400  invalid_event (permanent)
     ├── AuthenticationError        401  unauthenticated
     ├── ForbiddenError             403  forbidden
     ├── NotFoundError              404  not_found
     ├── MethodNotAllowedError      405  method_not_allowed
     ├── ConflictError              409  conflict
     ├── RequestInProgressError     409  request_in_progress (retryable)
     ├── PreconditionFailedError    412  precondition_failed
     ├── PayloadTooLargeError       413  payload_too_large
     ├── UnsupportedMediaTypeError  415  unsupported_media_type
     ├── ValidationError            422  validation_failed
     ├── IdempotencyKeyReusedError  422  idempotency_key_reused
     ├── PreconditionRequiredError  428  precondition_required
     └── UnavailableError           503  dependency_unavailable (retryable)

Callers may pass a more specific ``code`` than the class default. Foreign
errors are wrapped where they enter, with ``raise wrap_google_error(exc) from
exc``; their text never reaches a client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pydantic


@dataclass(frozen=True)
class FieldError:
    """One field at fault in a request or an event."""

    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """Return the problem+json member for this field."""
        return {"field": self.field, "code": self.code, "message": self.message}


class CrmError(Exception):
    """Base of every error the product raises on purpose."""

    code: str = "internal_error"
    http_status: int = 500
    retryable: bool = False
    title: str = "Internal error"
    detail: str = "The request could not be completed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        field_errors: Iterable[FieldError] = (),
        retryable: bool | None = None,
    ) -> None:
        self.code = code or type(self).code
        self.title = title or type(self).title
        self.detail = detail or type(self).detail
        self.field_errors: list[FieldError] = list(field_errors)
        if retryable is not None:
            self.retryable = retryable
        super().__init__(self.detail)

    def response_headers(self) -> dict[str, str]:
        """Return the extra HTTP headers this error's response carries."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class InternalError(CrmError):
    """A failure of our own or of a dependency that a retry cannot fix."""


class SecretNotConfiguredError(CrmError):
    """A secret the function needs has no active value."""

    code = "secret_not_configured"
    title = "Service misconfigured"
    detail = "The service is not configured to handle this request."


class BadRequestError(CrmError):
    """The request is malformed beyond field validation."""

    code = "bad_request"
    http_status = 400
    title = "Bad request"
    detail = "The request is malformed."


class InvalidEventError(CrmError):
    """A malformed event; no retry can fix it, so it must be dropped."""

    code = "invalid_event"
    http_status = 400
    title = "Invalid event"
    detail = "The event does not have the expected shape."


class AuthenticationError(CrmError):
    """The caller's credentials are missing, invalid or expired."""

    code = "unauthenticated"
    http_status = 401
    title = "Unauthenticated"
    detail = "Valid credentials are required."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        challenge: str | None = None,
    ) -> None:
        super().__init__(detail, code=code)
        self.challenge = challenge

    def response_headers(self) -> dict[str, str]:
        """Return the challenge header of RFC 9110 section 11.6.1, if any."""
        return {"WWW-Authenticate": self.challenge} if self.challenge else {}


class ForbiddenError(CrmError):
    """The caller is known but may not perform this action."""

    code = "forbidden"
    http_status = 403
    title = "Forbidden"
    detail = "You are not allowed to perform this action."


class NotFoundError(CrmError):
    """The resource does not exist, or the caller may not know it does."""

    code = "not_found"
    http_status = 404
    title = "Not found"
    detail = "The resource does not exist."


class MethodNotAllowedError(CrmError):
    """The path exists but does not answer this method."""

    code = "method_not_allowed"
    http_status = 405
    title = "Method not allowed"
    detail = "The method is not allowed on this resource."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        allowed: Iterable[str] = (),
    ) -> None:
        super().__init__(detail, code=code)
        self.allowed = tuple(allowed)

    def response_headers(self) -> dict[str, str]:
        """Return the Allow header that RFC 9110 section 15.5.6 requires."""
        return {"Allow": ", ".join(self.allowed)}


class ConflictError(CrmError):
    """The request conflicts with the resource's current state."""

    code = "conflict"
    http_status = 409
    title = "Conflict"
    detail = "The request conflicts with the current state of the resource."


class RequestInProgressError(CrmError):
    """An earlier request with the same idempotency key is still running."""

    code = "request_in_progress"
    http_status = 409
    retryable = True
    title = "Request in progress"
    detail = "A request with the same idempotency key is still in progress."


class PreconditionFailedError(CrmError):
    """An If-Match or similar precondition does not hold."""

    code = "precondition_failed"
    http_status = 412
    title = "Precondition failed"
    detail = "The resource has changed since it was read."


class PayloadTooLargeError(CrmError):
    """The request body is larger than this endpoint accepts."""

    code = "payload_too_large"
    http_status = 413
    title = "Payload too large"
    detail = "The request body is too large."


class UnsupportedMediaTypeError(CrmError):
    """The request body has a media type this endpoint does not accept."""

    code = "unsupported_media_type"
    http_status = 415
    title = "Unsupported media type"
    detail = "The request body's media type is not supported."


class ValidationError(CrmError):
    """One or more fields of the input are invalid; see ``field_errors``."""

    code = "validation_failed"
    http_status = 422
    title = "Validation failed"
    detail = "One or more fields are invalid."


class IdempotencyKeyReusedError(CrmError):
    """An idempotency key was sent again with a different payload."""

    code = "idempotency_key_reused"
    http_status = 422
    title = "Idempotency key reused"
    detail = "The idempotency key was already used with a different payload."


class PreconditionRequiredError(CrmError):
    """A required conditional header (If-Match, Idempotency-Key) is missing."""

    code = "precondition_required"
    http_status = 428
    title = "Precondition required"
    detail = "This request must be conditional."


class UnavailableError(CrmError):
    """A dependency failed in a way that a later retry may not."""

    code = "dependency_unavailable"
    http_status = 503
    retryable = True
    title = "Service unavailable"
    detail = "A dependency is temporarily unavailable; retry later."


def validation_error_from_pydantic(
    exc: pydantic.ValidationError, *, prefix: str = ""
) -> ValidationError:
    """Turn a pydantic error into a ValidationError without the input values."""
    field_errors = [
        FieldError(
            field=_dotted(prefix, error["loc"]),
            code=error["type"],
            message=error["msg"],
        )
        for error in exc.errors(include_url=False, include_input=False)
    ]
    return ValidationError(field_errors=field_errors)


def wrap_google_error(exc: BaseException) -> CrmError:
    """Map a Google client or transport error to a CrmError.

    Transient failures become a retryable UnavailableError; anything else is
    a non-retryable InternalError. The foreign text is not carried over:
    chain it with ``raise wrap_google_error(exc) from exc``.
    """
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, _transient_error_types()):
        return UnavailableError()
    return InternalError()


@contextlib.contextmanager
def google_errors() -> Iterator[None]:
    """Wrap a Google client or connection error raised inside the block.

    CrmErrors pass through unchanged; anything else is the caller's bug and
    propagates as it is.
    """
    from google.api_core.exceptions import GoogleAPIError

    try:
        yield
    except (GoogleAPIError, ConnectionError, TimeoutError) as exc:
        raise wrap_google_error(exc) from exc


def _transient_error_types() -> tuple[type[BaseException], ...]:
    # Imported here: google.api_core pulls in grpc, too slow for cold start.
    import requests
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    return (
        api_exceptions.ServiceUnavailable,
        api_exceptions.DeadlineExceeded,
        api_exceptions.InternalServerError,
        api_exceptions.BadGateway,
        api_exceptions.GatewayTimeout,
        api_exceptions.TooManyRequests,
        api_exceptions.Aborted,
        api_exceptions.RetryError,
        auth_exceptions.TransportError,
        requests.ConnectionError,
        requests.Timeout,
        ConnectionError,
        TimeoutError,
    )


def _dotted(prefix: str, loc: tuple[int | str, ...]) -> str:
    parts = [prefix] if prefix else []
    parts.extend(str(part) for part in loc)
    return ".".join(parts) or "body"
