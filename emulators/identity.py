"""Identity: accounts and ID tokens on the Firebase Auth emulator.

The demo, the tests and the benchmarks make accounts as the app does,
through the emulator's REST API (identitytoolkit), and set claims through
the Admin SDK. The emulator's ID tokens are unsigned JWTs, which the Admin
SDK accepts in emulator mode only; `unsigned_token` mints one for an
existing account without a round trip.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any, Final

import requests

IDENTITY: Final = "identitytoolkit.googleapis.com/v1"


@dataclass(frozen=True)
class Account:
    """An account on the emulator with a fresh ID token."""

    uid: str
    email: str
    password: str
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        """Authorization with the token, and any other headers."""
        return {"Authorization": f"Bearer {self.token}", **extra}


class Identity:
    """Signs accounts up and in on the Auth emulator at ``host``."""

    def __init__(self, host: str, project_id: str) -> None:
        self._url = f"http://{host}/{IDENTITY}"
        self._project_id = project_id

    def sign_up(self, email: str, password: str, *, staff: bool = False) -> Account:
        """A new account; with the custom claim `role: staff` when asked."""
        created = self._call("accounts:signUp", email, password)
        account = Account(created["localId"], email, password, created["idToken"])
        if not staff:
            return account

        from firebase_admin import auth

        claims = {"role": "staff"}
        auth.set_custom_user_claims(account.uid, claims, app=self.admin_app())
        # Claims reach a token at its next sign-in.
        return self.sign_in(account)

    def sign_in(self, account: Account) -> Account:
        """The account with a freshly issued token."""
        signed_in = self._call(
            "accounts:signInWithPassword", account.email, account.password
        )
        return Account(
            account.uid, account.email, account.password, signed_in["idToken"]
        )

    def admin_app(self) -> Any:
        """A Firebase Admin app of its own on the emulator's project."""
        import firebase_admin

        name = f"identity-{self._project_id}"
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            options = {"projectId": self._project_id}
            return firebase_admin.initialize_app(options=options, name=name)

    def _call(self, method: str, email: str, password: str) -> dict[str, Any]:
        response = requests.post(
            f"{self._url}/{method}?key=local",
            json={"email": email, "password": password, "returnSecureToken": True},
            timeout=30,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer


def unsigned_token(
    project_id: str, uid: str, *, issued_s: int | None = None, ttl_s: int = 3600
) -> str:
    """An emulator ID token for ``uid``, issued at ``issued_s`` (now)."""
    issued = int(time.time()) if issued_s is None else issued_s
    claims = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "sub": uid,
        "user_id": uid,
        "auth_time": issued,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    parts = [{"alg": "none", "typ": "JWT"}, claims]
    encoded = [
        base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=").decode()
        for p in parts
    ]
    return ".".join(encoded) + "."
