"""Entry point of `customers`: the onboarding and profile API of the mobile app.

Answers, always as JSON or problem+json: 200 and 201 for success; 204 for a
CORS preflight; 400 (malformed body, no Idempotency-Key), 401 (no valid
token, with a code per cause), 403 (staff or owner only), 404 (no such
route, or a customer that is not the caller's), 405, 409 (conflicts), 412
(stale If-Match), 413 (body over 1 MiB), 415 (body not JSON), 422
(validation, every field listed), 428 (no If-Match); 503 when a dependency
is down, so the app retries. Never a traceback, never another customer.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Final

import flask
import functions_framework
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from common.startup import pause_garbage_collection

# Imported with the collector paused: see common/startup.py.
with pause_garbage_collection():
    # Every customer request verifies a Firebase ID token and reads Firestore:
    # import both libraries as the instance starts, before it serves, not inside
    # the first request's thread; the app and the clients are still made on
    # first use.
    from firebase_admin import auth  # noqa: F401
    from google.cloud import firestore  # noqa: F401

    from common.auth import authenticate
    from common.customers import api
    from common.customers.profiles import customer_not_found
    from common.errors import (
        CrmError,
        ForbiddenError,
        MethodNotAllowedError,
        NotFoundError,
    )
    from common.httpapi import CorsPolicy, is_preflight, merge_headers
    from common.logs import configure_logging, invocation, log_fields
    from common.problems import internal_error_response, problem_response

    configure_logging("customers")
logger = logging.getLogger("customers")

OPENAPI_PATH: Final = "/v1/openapi.json"
OPENAPI_DOCUMENT: Final = Path(__file__).with_name("openapi.json")
# Firebase uids are at most 128 characters; Firestore ids may not hold "/".
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")

ROUTES: Final = Map(
    [
        Rule("/v1/customers", methods=["POST"], endpoint="create"),
        Rule("/v1/customers/<customer_id>", methods=["GET"], endpoint="get"),
        Rule("/v1/customers/<customer_id>", methods=["PATCH"], endpoint="update"),
        Rule(
            "/v1/customers/<customer_id>/documents",
            methods=["POST"],
            endpoint="announce_document",
        ),
        Rule(
            "/v1/customers/<customer_id>/documents",
            methods=["GET"],
            endpoint="list_documents",
        ),
        Rule(
            "/v1/customers/<customer_id>/payments",
            methods=["GET"],
            endpoint="list_payments",
        ),
        Rule(
            "/v1/customers/<customer_id>/kyc-decisions",
            methods=["POST"],
            endpoint="decide_kyc",
        ),
        Rule(OPENAPI_PATH, methods=["GET"], endpoint="openapi"),
    ],
    strict_slashes=False,
)
HANDLERS: Final[dict[str, api.Handler]] = {
    "get": api.get_customer,
    "update": api.update_customer,
    "announce_document": api.announce_document,
    "list_documents": api.list_documents,
    "list_payments": api.list_payments,
    "decide_kyc": api.decide_kyc,
}
ROUTE_NOT_FOUND: Final = NotFoundError("No such resource.", code="route_not_found")


@functions_framework.http
def customers(request: flask.Request) -> flask.Response:
    """Answer one request of the customer API.

    Raises nothing: every failure is mapped to a problem+json answer.
    """
    cors = _cors_policy()
    origin = request.headers.get("Origin")
    with invocation("http", headers=request.headers, method=request.method) as call:
        response = _answer(request, cors)
        call.outcome = str(response.status_code)
        call.add_fields(status=response.status_code)
    merge_headers(response, cors.headers(origin).items())
    return response


def _answer(request: flask.Request, cors: CorsPolicy) -> flask.Response:
    if is_preflight(request):
        return _preflight(request, cors)
    try:
        return _dispatch(request)
    except CrmError as exc:
        if exc.http_status >= 500:
            logger.warning("dependency failed", extra=log_fields(code=exc.code))
        return problem_response(exc, instance=request.path)
    except Exception:
        logger.exception("unexpected error")
        return internal_error_response(instance=request.path)


def _dispatch(request: flask.Request) -> flask.Response:
    endpoint, arguments = _route(request)
    if endpoint == "openapi":
        return _openapi()

    caller = authenticate(request.headers)
    if endpoint == "create":
        return api.create_customer(request, caller)
    customer_id = arguments["customer_id"]
    # An id that cannot exist is answered like a missing customer.
    if not _CUSTOMER_ID.fullmatch(customer_id):
        raise customer_not_found()
    return HANDLERS[endpoint](request, caller, customer_id)


def _route(request: flask.Request) -> tuple[str, dict[str, str]]:
    adapter = ROUTES.bind("", path_info=request.path)
    try:
        endpoint, arguments = adapter.match(request.path, method=request.method)
    except MethodNotAllowed as exc:
        allowed = sorted(exc.valid_methods or ())
        raise MethodNotAllowedError(allowed=allowed) from exc
    except NotFound as exc:
        raise ROUTE_NOT_FOUND from exc
    return str(endpoint), {k: str(v) for k, v in arguments.items()}


def _preflight(request: flask.Request, cors: CorsPolicy) -> flask.Response:
    origin = request.headers.get("Origin")
    if not cors.allows(origin):
        error = ForbiddenError(
            "This origin may not call the API.", code="origin_not_allowed"
        )
        return problem_response(error, instance=request.path)
    return flask.Response(status=204, headers=cors.preflight_headers(origin))


def _openapi() -> flask.Response:
    return flask.Response(
        OPENAPI_DOCUMENT.read_bytes(), status=200, content_type="application/json"
    )


@functools.cache
def _cors_policy() -> CorsPolicy:
    from common.settings import get_settings

    return CorsPolicy.from_setting(get_settings().cors_allowed_origins)
