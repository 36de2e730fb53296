"""OpenAPI: the customer API's OpenAPI 3.1 document, built from its models.

The document is checked in beside the function (`functions/customers/
openapi.json`) and served from there; a test keeps it equal to what this
module builds. Regenerate it with `python -m common.customers.openapi`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from common.customers import models

DOCUMENT_PATH: Final = (
    Path(__file__).resolve().parents[2] / "functions" / "customers" / "openapi.json"
)
REF: Final = "#/components/schemas/{model}"
PROBLEM: Final = "application/problem+json"
ERROR_TITLES: Final = {
    400: "Malformed request (malformed_json, idempotency_key_required)",
    401: "No valid token (token_missing, token_malformed, token_invalid, "
    "token_expired, token_revoked, user_disabled, user_not_found)",
    403: "Not allowed for this caller (owner_only, staff_only)",
    404: "No such customer, document or route",
    409: "Conflict (customer_exists, email_taken, phone_taken, "
    "request_in_progress, document_not_reviewable, decision_conflict)",
    412: "The If-Match ETag is stale (etag_mismatch)",
    413: "The body is larger than 1 MiB",
    415: "The body is not application/json",
    422: "Validation failed; `errors` lists every field at fault, or the "
    "idempotency key was used with another body (idempotency_key_reused)",
    428: "If-Match is required",
    503: "A dependency is unavailable; retry later",
}
BODY_ERRORS: Final = (400, 413, 415, 422)
READ_ERRORS: Final = (401, 404, 503)


def build_document() -> dict[str, Any]:
    """Return the whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "CRM-AID customer API",
            "version": "1.0.0",
            "description": "Onboarding and profiles for the mobile app. Every "
            "error is application/problem+json (RFC 9457) with a stable `code`.",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "firebase": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "Firebase ID token",
                }
            },
            "parameters": _parameters(),
        },
        "security": [{"firebase": []}],
    }


def _paths() -> dict[str, Any]:
    customer = [{"$ref": "#/components/parameters/customer_id"}]
    return {
        "/v1/customers": {
            "post": _operation(
                "createCustomer",
                "Create the caller's profile",
                request="CustomerCreate",
                answers={201: ("CustomerProfile", ("ETag", "Location"))},
                errors=(*BODY_ERRORS, 401, 409, 503),
                parameters=[{"$ref": "#/components/parameters/idempotency_key"}],
                replayable=True,
            )
        },
        "/v1/customers/{customer_id}": {
            "parameters": customer,
            "get": _operation(
                "getCustomer",
                "Read a profile with its KYC status",
                answers={200: ("CustomerProfile", ("ETag",))},
                errors=(400, *READ_ERRORS),
            ),
            "patch": _operation(
                "updateCustomer",
                "Change the contact fields of a profile",
                request="CustomerUpdate",
                answers={200: ("CustomerProfile", ("ETag",))},
                errors=(*BODY_ERRORS, *READ_ERRORS, 403, 409, 412, 428),
                parameters=[{"$ref": "#/components/parameters/if_match"}],
            ),
        },
        "/v1/customers/{customer_id}/documents": {
            "parameters": customer,
            "post": _operation(
                "announceDocument",
                "Announce a KYC document and get its signed upload URL",
                request="DocumentAnnouncement",
                answers={201: ("DocumentUpload", ("Location",))},
                errors=(*BODY_ERRORS, *READ_ERRORS, 403),
            ),
            "get": _operation(
                "listDocuments",
                "List documents and their check results",
                answers={200: ("DocumentList", ())},
                errors=(400, *READ_ERRORS),
            ),
        },
        "/v1/customers/{customer_id}/payments": {
            "parameters": customer,
            "get": _operation(
                "listPayments",
                "List the customer's payments, newest first",
                answers={200: ("PaymentList", ())},
                errors=(400, *READ_ERRORS),
            ),
        },
        "/v1/customers/{customer_id}/kyc-decisions": {
            "parameters": customer,
            "post": _operation(
                "decideKyc",
                "Approve or reject a document that needs review (staff)",
                request="KycDecision",
                answers={200: ("KycDecisionResult", ())},
                errors=(*BODY_ERRORS, *READ_ERRORS, 403, 409),
            ),
        },
        "/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _operation(
    operation_id: str,
    summary: str,
    *,
    answers: dict[int, tuple[str, tuple[str, ...]]],
    errors: tuple[int, ...],
    request: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
    replayable: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(request)}},
        }
    responses: dict[str, Any] = {}
    for status, (schema, headers) in answers.items():
        names = (*headers, "Idempotent-Replayed") if replayable else headers
        responses[str(status)] = {
            "description": "Success",
            "headers": {name: _header(name) for name in names},
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    for status in sorted(set(errors)):
        responses[str(status)] = {
            "description": ERROR_TITLES[status],
            "content": {PROBLEM: {"schema": _ref("Problem")}},
        }
    operation["responses"] = responses
    return operation


def _header(name: str) -> dict[str, Any]:
    descriptions = {
        "ETag": "The profile's version, for If-Match",
        "Location": "Where the created resource is read",
        "Idempotent-Replayed": "`true` when this is the first answer replayed",
    }
    return {"description": descriptions[name], "schema": {"type": "string"}}


def _parameters() -> dict[str, Any]:
    return {
        "customer_id": {
            "name": "customer_id",
            "in": "path",
            "required": True,
            "description": "The customer id: the Firebase uid",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"},
        },
        "idempotency_key": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "Replays the first answer for the same key and body",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        },
        "if_match": {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": "The ETag of the profile as last read",
            "schema": {"type": "string"},
        },
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _schemas() -> dict[str, Any]:
    requests: list[type[BaseModel]] = [
        models.CustomerCreate,
        models.CustomerUpdate,
        models.DocumentAnnouncement,
        models.KycDecision,
    ]
    responses: list[type[BaseModel]] = [
        models.CustomerProfile,
        models.DocumentUpload,
        models.DocumentList,
        models.KycDecisionResult,
        models.PaymentList,
    ]
    pairs = [(m, "validation") for m in requests]
    pairs += [(m, "serialization") for m in responses]
    _, schema = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    definitions: dict[str, Any] = schema.get("$defs", {})
    return definitions | {"Problem": _problem_schema()}


def _problem_schema() -> dict[str, Any]:
    field_error = {
        "type": "object",
        "required": ["field", "code", "message"],
        "properties": {
            "field": {"type": "string"},
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
    }
    return {
        "type": "object",
        "description": "RFC 9457 problem details with a stable `code`",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            "instance": {"type": "string"},
            "errors": {"type": "array", "items": field_error},
        },
    }


def render() -> str:
    """The document as it is checked in: indented JSON and a final newline."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DOCUMENT_PATH.write_text(render())
    sys.stdout.write(f"wrote {DOCUMENT_PATH}\n")
