"""The customer API's authentication: each way a token fails has its own code."""

from __future__ import annotations

import time

import pytest

from emulators.identity import unsigned_token
from emulators.platform import Platform
from tests.integration.customers.conftest import Api, Users, admin_app, customer_body


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "token_missing"),
        ("", "token_missing"),
        ("Basic dXNlcjpwYXNz", "token_malformed"),
        ("Bearer", "token_malformed"),
        ("Bearer not-a-token", "token_invalid"),
    ],
)
def test_request_without_valid_token_is_401_with_its_code(
    api: Api, authorization: str | None, code: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}

    response = api.request("GET", "/v1/customers/someone", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_request_with_expired_token_is_token_expired(
    api: Api, users: Users, platform: Platform
) -> None:
    user = users.new()
    # Issued after the account's tokens became valid, expired since.
    issued = int(time.time()) + 1
    project = platform.config.project_id
    token = unsigned_token(project, user.uid, issued_s=issued, ttl_s=-2)

    response = api.request(
        "GET", f"/v1/customers/{user.uid}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


def test_request_with_revoked_token_is_token_revoked(
    api: Api, users: Users, platform: Platform
) -> None:
    from firebase_admin import auth

    user = users.new()
    api.create(user, customer_body())
    # Revocation has second granularity: the token must predate it.
    time.sleep(1.1)
    auth.revoke_refresh_tokens(user.uid, app=admin_app(platform))

    response = api.request("GET", f"/v1/customers/{user.uid}", headers=user.headers())

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


def test_request_of_disabled_user_is_user_disabled(
    api: Api, users: Users, platform: Platform
) -> None:
    from firebase_admin import auth

    user = users.new()
    auth.update_user(user.uid, disabled=True, app=admin_app(platform))

    response = api.request("GET", f"/v1/customers/{user.uid}", headers=user.headers())

    assert response.status_code == 401
    assert response.json()["code"] == "user_disabled"


def test_openapi_document_needs_no_token(api: Api) -> None:
    response = api.request("GET", "/v1/openapi.json")

    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
