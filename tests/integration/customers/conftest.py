"""Fixtures of the customer API tests: Auth emulator users and an API client.

Users are signed up and signed in through the Auth emulator's REST API, as
the app does; staff get the `role` claim through the Admin SDK. Every answer
the client receives is checked against the OpenAPI document.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.platform import Platform
from tests.integration.customers.contract import check_response

SAMPLES = Path(__file__).parent / "samples"
IDENTITY = "identitytoolkit.googleapis.com/v1"


@dataclass(frozen=True)
class User:
    """An account in the Auth emulator with a fresh ID token."""

    uid: str
    email: str
    password: str
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        """Authorization plus any other headers."""
        return {"Authorization": f"Bearer {self.token}", **extra}


class Users:
    """Signs accounts up and in through the Auth emulator."""

    def __init__(self, platform: Platform) -> None:
        self._url = f"{platform.config.url('auth')}/{IDENTITY}"
        self._platform = platform

    def new(self, *, staff: bool = False) -> User:
        """A new account; with the staff claim when asked."""
        email = f"user-{uuid.uuid4().hex[:12]}@example.test"
        password = uuid.uuid4().hex
        signed_up = self._call("accounts:signUp", email, password)
        if staff:
            from firebase_admin import auth

            auth.set_custom_user_claims(
                signed_up["localId"], {"role": "staff"}, app=admin_app(self._platform)
            )
            return self.sign_in(signed_up["localId"], email, password)
        return User(signed_up["localId"], email, password, signed_up["idToken"])

    def sign_in(self, uid: str, email: str, password: str) -> User:
        """A fresh token for an existing account."""
        signed_in = self._call("accounts:signInWithPassword", email, password)
        return User(uid, email, password, signed_in["idToken"])

    def _call(self, method: str, email: str, password: str) -> dict[str, Any]:
        response = requests.post(
            f"{self._url}/{method}?key=local",
            json={"email": email, "password": password, "returnSecureToken": True},
            timeout=30,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


_apps: dict[str, Any] = {}


def admin_app(platform: Platform) -> Any:
    """A Firebase Admin app of the tests' own, on the emulator."""
    import firebase_admin

    if platform.platform_id not in _apps:
        _apps[platform.platform_id] = firebase_admin.initialize_app(
            options={"projectId": platform.config.project_id},
            name=f"tests-{platform.platform_id}",
        )
    return _apps[platform.platform_id]


class Api:
    """The customer API through the gateway; checks every answer's contract."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def request(
        self, method: str, path: str, *, check: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Send one request and check the answer against the OpenAPI document."""
        kwargs.setdefault("timeout", 30)
        response = self.session.request(method, self.base_url + path, **kwargs)
        if check:
            check_response(method, path, response)
        return response

    def create(
        self, user: User, body: dict[str, Any], key: str | None = None
    ) -> requests.Response:
        """POST /v1/customers with a fresh idempotency key unless one is given."""
        headers = user.headers(**{"Idempotency-Key": key or uuid.uuid4().hex})
        return self.request("POST", "/v1/customers", json=body, headers=headers)


@pytest.fixture
def users(platform: Platform) -> Users:
    """Auth emulator accounts."""
    return Users(platform)


@pytest.fixture
def api(platform: Platform, firestore_client: Any) -> Iterator[Api]:
    """The customer API on an emptied Firestore."""
    client = Api(platform.config.url("gateway"))
    yield client
    client.session.close()


def customer_body(**overrides: Any) -> dict[str, Any]:
    """The sample profile with unique contacts, and any member replaced."""
    body: dict[str, Any] = copy.deepcopy(
        json.loads((SAMPLES / "customer.json").read_text())
    )
    unique = uuid.uuid4().hex[:10]
    body["email"] = f"zoe.{unique}@example.com"
    body["phone"] = unique_phone()
    body.update(overrides)
    return body


def unique_phone() -> str:
    """A valid UK mobile number (+44 74...) that no other test uses."""
    return "+4474" + f"{uuid.uuid4().int % 10**8:08d}"
