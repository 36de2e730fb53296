"""Contract: every answer of the customer API checked against its OpenAPI document.

The status must be documented for the operation, the media type must be the
documented one, and the body must validate against the documented schema
(JSON Schema 2020-12, the dialect of OpenAPI 3.1).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import referencing
import requests
from referencing.jsonschema import DRAFT202012

from common.customers.openapi import DOCUMENT_PATH

DOCUMENT_URI = "urn:crm-aid:customers-openapi"


@functools.cache
def document() -> dict[str, Any]:
    """The checked-in OpenAPI document."""
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text())
    return loaded


@functools.cache
def _registry() -> referencing.Registry[Any]:
    resource = DRAFT202012.create_resource(document())
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        DOCUMENT_URI, resource
    )
    return registry


def header(response: Any, name: str) -> str | None:
    """A header of a requests or a schemathesis response (lists, lower case)."""
    value = response.headers.get(name)
    if value is None:
        value = response.headers.get(name.lower())
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)


def check_response(method: str, path: str, response: requests.Response) -> None:
    """Fail unless the answer is what the document promises for the call."""
    operation = _operation(method, urlsplit(path).path)
    status = str(response.status_code)
    if operation is None:
        # A method the path does not have: 405 with Allow, as a problem.
        assert status == "405", f"{method} {path} answered {status}, not 405"
        assert header(response, "Allow")
        return
    documented = operation["responses"]
    assert status in documented, (
        f"{method} {path} answered {status}, documented: {sorted(documented)}"
    )
    content = documented[status].get("content")
    if not content or method == "HEAD":
        return

    media_type = (header(response, "Content-Type") or "").split(";")[0].strip()
    assert media_type in content, (
        f"{method} {path} answered {status} as {media_type!r}, documented "
        f"{sorted(content)}; headers {dict(response.headers)}"
    )
    schema = _resolvable(content[media_type]["schema"])
    validator = jsonschema.Draft202012Validator(schema, registry=_registry())
    errors = sorted(validator.iter_errors(response.json()), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message}"


def _resolvable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {"$ref": DOCUMENT_URI + schema["$ref"]}
    return schema


def _operation(method: str, path: str) -> dict[str, Any] | None:
    for template, item in document()["paths"].items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path.rstrip("/") or "/"):
            verb = "get" if method.upper() == "HEAD" else method.lower()
            operation: dict[str, Any] | None = item.get(verb)
            return operation
    raise AssertionError(f"{method} {path}: no documented path matches")
