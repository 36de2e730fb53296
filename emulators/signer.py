"""The local signer: a service account key for V4 signed URLs.

Cloud Run signs through IAM with the function's own service account; the
local platform has no IAM, so it generates a key of the same file format
once per state folder and hands its path to the functions. fake-gcs-server
does not check signatures (EMULATORS.md), but the URL is signed exactly as
a key signs in production.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

KEY_FILE_ENV: Final = "SIGNED_URL_KEY_FILE"


def signer_key_file(state_dir: Path, project_id: str) -> Path:
    """Return the key file, generating it on first use."""
    path = state_dir / "signer" / "service-account.json"
    if path.is_file():
        return path

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = f"local-signer@{project_id}.iam.gserviceaccount.com"
    document = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "local",
        "private_key": pem,
        "client_email": email,
        "client_id": "0",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(document))
    return path
