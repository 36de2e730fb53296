"""Auth: the caller of an HTTP request, from its Firebase ID token.

Tokens are verified with firebase-admin, revocation and disabled accounts
included (``check_revoked``). Against the Auth emulator
(``FIREBASE_AUTH_EMULATOR_HOST``) the Admin SDK accepts the emulator's
unsigned tokens; production configuration never carries that variable.

Each failure answers 401 with its own code and a fixed detail, so that the
app can tell a token to refresh from one to throw away; the token itself and
the library's message never reach a log or a client.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from common.errors import AuthenticationError, UnavailableError
from common.logs import HeaderMap, header

if TYPE_CHECKING:
    import firebase_admin

STAFF_ROLE: Final = "staff"
CHALLENGE: Final = 'Bearer realm="crm-aid"'
# Firebase ID tokens are compact JWTs of about 1 KB; far longer is not one.
MAX_TOKEN_LENGTH: Final = 8192

_app_lock = threading.Lock()
_app: firebase_admin.App | None = None


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's uid, and whether it carries the staff role."""

    uid: str
    staff: bool


def authenticate(headers: HeaderMap) -> Caller:
    """Return the caller named by the request's bearer token.

    Raises:
        AuthenticationError: no token, or one that is malformed, expired,
            revoked, or whose user is disabled (401, a code for each).
        UnavailableError: the keys or the user record could not be fetched.
    """
    token = _bearer_token(header(headers, "Authorization"))
    claims = _verify(token)
    _check_expiry(claims)

    uid = claims.get("uid") or claims.get("sub")
    if not isinstance(uid, str) or not uid:
        raise _unauthenticated("token_invalid", "The token names no user.")
    return Caller(uid=uid, staff=claims.get("role") == STAFF_ROLE)


def _bearer_token(value: str | None) -> str:
    if value is None or not value.strip():
        raise _unauthenticated("token_missing", "A bearer token is required.")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        raise _unauthenticated(
            "token_malformed", "Expected an Authorization header of the form "
            "'Bearer <Firebase ID token>'.",
        )  # fmt: skip
    return token


def _verify(token: str) -> dict[str, Any]:
    from firebase_admin import auth, exceptions

    try:
        claims: dict[str, Any] = auth.verify_id_token(
            token, app=_firebase_app(), check_revoked=True
        )
    except auth.ExpiredIdTokenError as exc:
        raise _unauthenticated("token_expired", "The token has expired.") from exc
    except auth.RevokedIdTokenError as exc:
        raise _unauthenticated("token_revoked", "The token was revoked.") from exc
    except auth.UserDisabledError as exc:
        raise _unauthenticated("user_disabled", "The account is disabled.") from exc
    except (auth.InvalidIdTokenError, ValueError) as exc:
        raise _unauthenticated("token_invalid", "The token is not valid.") from exc
    except auth.UserNotFoundError as exc:
        raise _unauthenticated("user_not_found", "The account does not exist.") from exc
    except (auth.CertificateFetchError, exceptions.FirebaseError) as exc:
        raise UnavailableError(code="auth_unavailable") from exc
    return claims


def _check_expiry(claims: dict[str, Any]) -> None:
    # The Admin SDK checks expiry itself, except in emulator mode, where it
    # takes the claims as they are; the check here holds in both.
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires <= time.time():
        raise _unauthenticated("token_expired", "The token has expired.")


def _unauthenticated(code: str, detail: str) -> AuthenticationError:
    return AuthenticationError(detail, code=code, challenge=CHALLENGE)


def _firebase_app() -> firebase_admin.App:
    global _app
    with _app_lock:
        if _app is None:
            _app = _initialise_app()
        return _app


def _initialise_app() -> firebase_admin.App:
    import firebase_admin

    from common.settings import get_settings

    # A named app, so that a process that also initialises the default app
    # for its own use keeps it. Application Default Credentials are read
    # lazily; against the emulator the SDK substitutes a fake credential.
    options = {"projectId": get_settings().project_id}
    app: firebase_admin.App = firebase_admin.initialize_app(
        options=options, name="crm-aid-auth"
    )
    return app


def reset_auth() -> None:
    """Forget the Firebase app, so the next call builds it from fresh settings."""
    global _app
    import firebase_admin

    with _app_lock:
        if _app is not None:
            firebase_admin.delete_app(_app)
        _app = None
