"""The customer API's answers to bad HTTP: sizes, media types, routes, CORS."""

from __future__ import annotations

import pytest

from tests.integration.customers.conftest import Api, Users, customer_body
from tests.integration.customers.contract import document

APP_ORIGIN = "http://localhost:5173"


def test_body_over_one_mebibyte_is_413(api: Api, users: Users) -> None:
    user = users.new()
    body = b'{"given_name": "' + b"a" * (1024 * 1024) + b'"}'

    response = api.request(
        "POST",
        "/v1/customers",
        data=body,
        headers=user.headers(
            **{"Content-Type": "application/json", "Idempotency-Key": "k"}
        ),
    )

    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", b"{}", 415, "unsupported_media_type"),
        ("application/json", b"{not json", 400, "malformed_json"),
        ("application/json", b"[1, 2]", 400, "malformed_json"),
        ("application/json", b"\xff\xfe", 400, "malformed_json"),
    ],
)
def test_body_that_is_not_a_json_object_is_refused(
    api: Api, users: Users, content_type: str, body: bytes, status: int, code: str
) -> None:
    user = users.new()
    headers = user.headers(**{"Content-Type": content_type, "Idempotency-Key": "k"})

    response = api.request("POST", "/v1/customers", data=body, headers=headers)

    assert response.status_code == status
    assert response.json()["code"] == code


def test_unknown_route_under_customers_is_404_problem(api: Api, users: Users) -> None:
    response = api.request(
        "GET", "/v1/customers/a/b/c", headers=users.new().headers(), check=False
    )

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "route_not_found"


def test_wrong_method_is_405_with_allow(api: Api, users: Users) -> None:
    response = api.request(
        "DELETE", "/v1/customers/abc", headers=users.new().headers(), check=False
    )

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    assert response.json()["code"] == "method_not_allowed"


def test_preflight_from_app_origin_is_allowed(api: Api) -> None:
    response = api.request(
        "OPTIONS",
        "/v1/customers",
        check=False,
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,idempotency-key",
        },
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in response.headers["Access-Control-Allow-Headers"]


def test_preflight_from_unknown_origin_is_refused(api: Api) -> None:
    response = api.request(
        "OPTIONS",
        "/v1/customers",
        check=False,
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
        },
    )

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response.headers


def test_answer_to_app_origin_exposes_etag(api: Api, users: Users) -> None:
    user = users.new()
    api.create(user, customer_body())

    response = api.request(
        "GET",
        f"/v1/customers/{user.uid}",
        headers=user.headers(Origin=APP_ORIGIN),
    )

    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_served_openapi_document_is_the_checked_in_one(api: Api) -> None:
    response = api.request("GET", "/v1/openapi.json")

    assert response.json() == document()
