"""Uploads: V4 signed URLs that let the app put one KYC document in its bucket.

Each URL allows one PUT of the announced object, for 15 minutes, with the
declared content type and exactly the declared size
(`x-goog-content-length-range`): https://cloud.google.com/storage/docs/access-control/signed-urls

Signing: with the service account key file named by `SIGNED_URL_KEY_FILE`
where one is configured (the local platform generates one); otherwise with
the function's own service account through the IAM signBlob API, as Cloud
Run has no private key (the account needs iam.serviceAccountTokenCreator on
itself).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from common.errors import google_errors

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

UPLOAD_TTL: Final = timedelta(minutes=15)
LENGTH_RANGE_HEADER: Final = "x-goog-content-length-range"

_lock = threading.Lock()
_credentials: Credentials | None = None


@dataclass(frozen=True)
class SignedUpload:
    """A URL to PUT to, the headers the PUT must carry, and its expiry."""

    url: str
    headers: dict[str, str]
    expires_at: datetime


def signed_upload(
    bucket: str, object_name: str, content_type: str, size_bytes: int, now: datetime
) -> SignedUpload:
    """Sign a PUT of exactly ``size_bytes`` of ``content_type`` to the object.

    Raises:
        UnavailableError: the signing service did not answer.
    """
    from common.clients import storage_client

    blob = storage_client().bucket(bucket).blob(object_name)
    extra = {LENGTH_RANGE_HEADER: f"{size_bytes},{size_bytes}"}
    with google_errors():
        url = blob.generate_signed_url(
            version="v4",
            expiration=UPLOAD_TTL,
            method="PUT",
            content_type=content_type,
            # The library adds Host to the dict it is given.
            headers=dict(extra),
            **_signing_arguments(),
        )
    headers = {"Content-Type": content_type, **extra}
    return SignedUpload(str(url), headers, now + UPLOAD_TTL)


def _signing_arguments() -> dict[str, Any]:
    from common.clients import http_endpoint
    from common.settings import get_settings

    settings = get_settings()
    arguments: dict[str, Any] = {}
    if settings.storage_emulator_host is not None:
        # Path-style URLs against the emulator (EMULATORS.md).
        arguments["api_access_endpoint"] = http_endpoint(settings.storage_emulator_host)
    key_file = settings.signed_url_key_file is not None
    credentials = _signer(refresh=not key_file)
    if key_file:
        # A key signs locally; it needs no access token.
        arguments["credentials"] = credentials
    else:
        arguments["service_account_email"] = getattr(
            credentials, "service_account_email", None
        )
        arguments["access_token"] = credentials.token
    return arguments


def _signer(refresh: bool) -> Credentials:
    global _credentials
    with _lock:
        if _credentials is None:
            _credentials = _load_signer()
        if refresh and not _credentials.valid:
            from google.auth.transport.requests import Request

            _credentials.refresh(Request())
        return _credentials


def _load_signer() -> Credentials:
    from common.settings import get_settings

    key_file = get_settings().signed_url_key_file
    if key_file is not None:
        from google.oauth2 import service_account

        signer: Credentials = service_account.Credentials.from_service_account_file(
            key_file,
            scopes=["https://www.googleapis.com/auth/devstorage.read_write"],
        )
        return signer

    import google.auth

    default, _ = google.auth.default(
        scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    return default


def reset_signer() -> None:
    """Forget the signing credentials, for tests."""
    global _credentials
    with _lock:
        _credentials = None
