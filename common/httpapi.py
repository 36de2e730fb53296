"""HTTP API plumbing: bounded JSON bodies, JSON answers, ETags and CORS.

Shared by the HTTP functions, so that every one of them refuses the same bad
requests the same way: a body over the limit answers 413, a body that is not
JSON 415 or 400, and each answer is a problem+json document (RFC 9457).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import flask

from common.errors import (
    BadRequestError,
    PayloadTooLargeError,
    PreconditionFailedError,
    PreconditionRequiredError,
    UnsupportedMediaTypeError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

MAX_BODY_BYTES: Final = 1024 * 1024
JSON_CONTENT_TYPE: Final = "application/json"


def read_json_body(
    request: flask.Request, limit: int = MAX_BODY_BYTES
) -> dict[str, Any]:
    """Return the request's JSON object, read without trusting Content-Length.

    Raises:
        UnsupportedMediaTypeError: the body is not declared as JSON (415).
        PayloadTooLargeError: the body is larger than ``limit`` (413).
        BadRequestError: the body is not a JSON object (400).
    """
    if request.mimetype != JSON_CONTENT_TYPE:
        raise UnsupportedMediaTypeError(
            f"Expected a body of type {JSON_CONTENT_TYPE}.",
            code="unsupported_media_type",
        )
    raw = read_body(request, limit)

    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestError(
            "The body is not valid JSON.", code="malformed_json"
        ) from exc
    if not isinstance(body, dict):
        raise BadRequestError("Expected a JSON object.", code="malformed_json")
    return body


def read_body(request: flask.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """Return the raw body, refusing more than ``limit`` bytes (413)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    # A chunked body declares no length: read one byte past the limit.
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise _too_large(limit)
    return raw


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The body must not exceed {limit} bytes.")


def json_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> flask.Response:
    """Answer a JSON document."""
    return flask.Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=status,
        headers=dict(headers or {}),
        content_type=JSON_CONTENT_TYPE,
    )


def model_response(
    status: int, model: BaseModel, headers: Mapping[str, str] | None = None
) -> flask.Response:
    """Answer a pydantic model as JSON, in its wire form."""
    return json_response(status, model.model_dump(mode="json"), headers)


@dataclass(frozen=True)
class Version:
    """A document version as an entity tag: its Firestore update time."""

    seconds: int
    nanos: int

    @classmethod
    def of(cls, update_time: datetime) -> Version:
        """The version of a document last written at ``update_time``."""
        nanos = getattr(update_time, "nanosecond", None)
        if nanos is None:
            nanos = update_time.microsecond * 1000
        return cls(int(update_time.timestamp()), int(nanos))

    @property
    def etag(self) -> str:
        """The strong entity tag (RFC 9110 section 8.8.3)."""
        return f'"{self.seconds}.{self.nanos:09d}"'

    def update_time(self) -> datetime:
        """The exact update time, for a Firestore write precondition."""
        from google.api_core.datetime_helpers import DatetimeWithNanoseconds
        from google.protobuf.timestamp_pb2 import Timestamp

        stamp = Timestamp(seconds=self.seconds, nanos=self.nanos)
        exact: datetime = DatetimeWithNanoseconds.from_timestamp_pb(stamp)
        return exact


def required_version(request: flask.Request) -> Version:
    """Return the version named by If-Match.

    Raises:
        PreconditionRequiredError: If-Match is missing (428).
        PreconditionFailedError: it names no version this API issued (412).
    """
    value = request.headers.get("If-Match")
    if value is None or not value.strip():
        raise PreconditionRequiredError(
            "An If-Match header with the profile's ETag is required.",
            code="if_match_required",
        )
    version = _parse_etag(value.strip())
    if version is None:
        raise PreconditionFailedError(code="etag_mismatch")
    return version


def _parse_etag(value: str) -> Version | None:
    tag = value.removeprefix("W/")
    if len(tag) < 2 or tag[0] != '"' or tag[-1] != '"':
        return None
    seconds, _, nanos = tag[1:-1].partition(".")
    if not (seconds.isdigit() and nanos.isdigit() and len(nanos) == 9):
        return None
    return Version(int(seconds), int(nanos))


@dataclass(frozen=True)
class CorsPolicy:
    """Which browser origins may call the API, and with what (Fetch standard)."""

    origins: frozenset[str]
    methods: tuple[str, ...] = ("GET", "POST", "PATCH", "OPTIONS")
    request_headers: tuple[str, ...] = (
        "Authorization",
        "Content-Type",
        "Idempotency-Key",
        "If-Match",
    )
    exposed_headers: tuple[str, ...] = ("ETag", "Location", "Idempotent-Replayed")
    max_age_s: int = 600

    @classmethod
    def from_setting(cls, value: str) -> CorsPolicy:
        """Read a comma-separated list of origins."""
        return cls(frozenset(o.strip() for o in value.split(",") if o.strip()))

    def allows(self, origin: str | None) -> bool:
        """Whether a request from ``origin`` may read the answer."""
        return origin is not None and origin in self.origins

    def headers(self, origin: str | None) -> dict[str, str]:
        """The headers that let an allowed origin read an answer."""
        if not self.allows(origin):
            return {"Vary": "Origin"}
        assert origin is not None
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": ", ".join(self.exposed_headers),
            "Vary": "Origin",
        }

    def preflight_headers(self, origin: str | None) -> dict[str, str]:
        """The answer to a preflight from an allowed origin."""
        return self.headers(origin) | {
            "Access-Control-Allow-Methods": ", ".join(self.methods),
            "Access-Control-Allow-Headers": ", ".join(self.request_headers),
            "Access-Control-Max-Age": str(self.max_age_s),
        }


def is_preflight(request: flask.Request) -> bool:
    """Whether the request is a CORS preflight rather than an OPTIONS call."""
    return (
        request.method == "OPTIONS"
        and "Origin" in request.headers
        and "Access-Control-Request-Method" in request.headers
    )


def merge_headers(response: flask.Response, headers: Iterable[tuple[str, str]]) -> None:
    """Add headers to a response, replacing any of the same name."""
    for name, value in headers:
        response.headers[name] = value
