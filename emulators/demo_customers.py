"""The demo's customer step: two sign-ups, one of them staff, a profile, a passport.

Accounts are made through the Auth emulator's REST API as the app makes
them; the staff claim is set with the Admin SDK. Everything else goes
through the gateway, as the app calls it.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import requests

from emulators.config import PlatformConfig
from emulators.identity import Account, Identity

# The smallest PNG there is: a 1x1 transparent pixel.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)


def run_customer_step(config: PlatformConfig) -> Account:
    """Sign up a customer and a staff member; onboard the customer.

    The platform's addresses come from the environment that `exec` hands
    over, or that the demo sets from `config` when run beside `up`.
    """
    print("- a customer signs up, a staff member reads the profile")
    customer, staff = _sign_up(config), _sign_up(config, staff=True)
    api = os.environ["CRM_API_URL"]
    profile, _ = (_onboard(api, user) for user in (customer, staff))
    read = requests.get(
        f"{api}/v1/customers/{customer.uid}", headers=staff.headers(), timeout=30
    )
    read.raise_for_status()
    print(f"  customers {customer.uid} and {staff.uid} (staff): {profile['status']}")
    print("  the staff member read the customer's profile")

    print("- the customer announces and uploads a passport")
    upload = _post(
        f"{api}/v1/customers/{customer.uid}/documents",
        {"type": "passport", "content_type": "image/png", "size_bytes": len(PIXEL_PNG)},
        customer.headers(),
    )
    put = requests.put(
        upload["upload_url"],
        data=PIXEL_PNG,
        headers=upload["upload_headers"],
        timeout=30,
    )
    put.raise_for_status()
    print(f"  document {upload['document_id']} uploaded through its signed URL")
    return customer


def _onboard(api: str, user: Account) -> dict[str, Any]:
    return _post(
        f"{api}/v1/customers",
        _profile(),
        user.headers(**{"Idempotency-Key": uuid.uuid4().hex}),
    )


def _sign_up(config: PlatformConfig, *, staff: bool = False) -> Account:
    identity = Identity(os.environ["FIREBASE_AUTH_EMULATOR_HOST"], config.project_id)
    email = f"demo-{uuid.uuid4().hex[:8]}@example.test"
    return identity.sign_up(email, uuid.uuid4().hex, staff=staff)


def _post(url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = requests.post(url, data=json.dumps(body), headers=headers | {
        "Content-Type": "application/json"
    }, timeout=30)  # fmt: skip
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def _profile() -> dict[str, Any]:
    unique = uuid.uuid4().hex[:8]
    return {
        "given_name": "Ada",
        "family_name": "Demo",
        "email": f"ada.{unique}@example.com",
        "phone": "+4474" + f"{uuid.uuid4().int % 10**8:08d}",
        "date_of_birth": "1985-12-10",
        "country": "GB",
        "address": {
            "line1": "1 Demo Street",
            "city": "London",
            "postal_code": "EC1A 1BB",
            "country": "GB",
        },
        "terms_version": "2026-10",
    }
