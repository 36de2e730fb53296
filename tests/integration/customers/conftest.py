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
from pathlib import Path
from typing import Any

import pytest
import requests

from emulators.identity import Account, Identity
from emulators.platform import Platform
from tests.integration.customers.contract import check_response

SAMPLES = Path(__file__).parent / "samples"


User = Account


class Users:
    """Accounts on the platform's Auth emulator, with unique e-mails."""

    def __init__(self, platform: Platform) -> None:
        self._identity = identity(platform)

    def new(self, *, staff: bool = False) -> User:
        """A new account; with the staff claim when asked."""
        email = f"user-{uuid.uuid4().hex[:12]}@example.test"
        return self._identity.sign_up(email, uuid.uuid4().hex, staff=staff)


def identity(platform: Platform) -> Identity:
    """The platform's Auth emulator."""
    host = f"127.0.0.1:{platform.config.ports['auth']}"
    return Identity(host, platform.config.project_id)


def admin_app(platform: Platform) -> Any:
    """A Firebase Admin app of the tests' own, on the emulator."""
    return identity(platform).admin_app()


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
