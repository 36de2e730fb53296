"""Problems: CrmErrors as RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

import json
from typing import Any

import flask

from common.errors import CrmError, InternalError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://errors.crm-aid.dev/"
RETRY_AFTER_S = 5


def problem_type(code: str) -> str:
    """Return the stable URI that identifies a problem code."""
    return f"{PROBLEM_TYPE_BASE}{code}"


def problem_body(error: CrmError, instance: str | None = None) -> dict[str, Any]:
    """Build the problem+json members for an error.

    ``errors`` is present only for validation failures; ``instance`` only when
    given (RFC 9457 section 3.1.5).
    """
    body: dict[str, Any] = {
        "type": problem_type(error.code),
        "title": error.title,
        "status": error.http_status,
        "detail": error.detail,
        "code": error.code,
    }
    if instance is not None:
        body["instance"] = instance
    if error.field_errors:
        body["errors"] = [field.to_dict() for field in error.field_errors]
    return body


def problem_response(error: CrmError, instance: str | None = None) -> flask.Response:
    """Build the complete problem+json response for an error."""
    headers = error.response_headers()
    if error.retryable and error.http_status == 503:
        # RFC 9110 section 10.2.3: tell well-behaved clients when to come back.
        headers.setdefault("Retry-After", str(RETRY_AFTER_S))

    return flask.Response(
        json.dumps(problem_body(error, instance), separators=(",", ":")),
        status=error.http_status,
        headers=headers,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def internal_error_response(instance: str | None = None) -> flask.Response:
    """Answer 500 for an unexpected failure, without a word about its cause."""
    return problem_response(InternalError(), instance)
