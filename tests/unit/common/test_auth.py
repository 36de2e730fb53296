"""Unit tests of common.auth: each SDK verdict maps to its own 401 code."""

from __future__ import annotations

import time
from typing import Any

import pytest
from firebase_admin import auth, exceptions

from common import auth as crm_auth
from common.errors import AuthenticationError, UnavailableError

pytestmark = pytest.mark.unit


def _verifier(outcome: Exception | dict[str, Any]) -> Any:
    def verify(token: str, app: Any = None, check_revoked: bool = False) -> Any:
        assert check_revoked is True
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return verify


@pytest.fixture(autouse=True)
def no_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crm_auth, "_firebase_app", lambda: None)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (auth.ExpiredIdTokenError("expired", cause=None), "token_expired"),
        (auth.RevokedIdTokenError("revoked"), "token_revoked"),
        (auth.UserDisabledError("disabled"), "user_disabled"),
        (auth.InvalidIdTokenError("bad"), "token_invalid"),
        (ValueError("empty"), "token_invalid"),
        (auth.UserNotFoundError("gone"), "user_not_found"),
    ],
)
def test_authenticate_sdk_rejection_is_401_with_its_code(
    monkeypatch: pytest.MonkeyPatch, error: Exception, code: str
) -> None:
    monkeypatch.setattr(auth, "verify_id_token", _verifier(error))

    with pytest.raises(AuthenticationError) as raised:
        crm_auth.authenticate({"Authorization": "Bearer abc.def.ghi"})

    assert raised.value.code == code
    assert raised.value.http_status == 401
    assert "abc.def.ghi" not in raised.value.detail


@pytest.mark.parametrize(
    "error",
    [
        auth.CertificateFetchError("down", cause=None),
        exceptions.UnavailableError("down"),
    ],
)
def test_authenticate_unreachable_auth_is_retryable(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setattr(auth, "verify_id_token", _verifier(error))

    with pytest.raises(UnavailableError) as raised:
        crm_auth.authenticate({"Authorization": "Bearer abc.def.ghi"})

    assert raised.value.code == "auth_unavailable"


@pytest.mark.parametrize(
    ("claims", "staff"),
    [({"role": "staff"}, True), ({"role": "admin"}, False), ({}, False)],
)
def test_authenticate_valid_token_names_uid_and_role(
    monkeypatch: pytest.MonkeyPatch, claims: dict[str, Any], staff: bool
) -> None:
    verified = {"uid": "u-1", "exp": time.time() + 60} | claims
    monkeypatch.setattr(auth, "verify_id_token", _verifier(verified))

    caller = crm_auth.authenticate({"authorization": "bearer abc.def.ghi"})

    assert caller == crm_auth.Caller(uid="u-1", staff=staff)


def test_authenticate_claims_past_expiry_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified = {"uid": "u-1", "exp": time.time() - 1}
    monkeypatch.setattr(auth, "verify_id_token", _verifier(verified))

    with pytest.raises(AuthenticationError) as raised:
        crm_auth.authenticate({"Authorization": "Bearer abc.def.ghi"})

    assert raised.value.code == "token_expired"
