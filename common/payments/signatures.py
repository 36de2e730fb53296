"""Signatures: proof that a webhook comes from its provider, on the raw bytes.

Each scheme is checked exactly as the provider's own library signs it:

- Stripe (``stripe`` package, ``WebhookSignature``): header
  ``t=<unix>,v1=<hex>[,v1=<hex>...]``, HMAC-SHA256 of ``<t>.<body>`` keyed by
  the endpoint secret's UTF-8 bytes, ``whsec_`` included.
  https://docs.stripe.com/webhooks#verify-manually
- Adyen (``Adyen`` package, ``util.generate_notification_sig``): per
  notification item, base64 HMAC-SHA256 keyed by the hex-decoded key of the
  eight fields joined by ``:``, unescaped, each as Python's ``str()`` renders
  the parsed JSON value and missing ones empty.
  https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures
- Standard Webhooks (``standardwebhooks`` package): headers ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64>`` separated
  by spaces), HMAC-SHA256 of ``<id>.<timestamp>.<body>`` keyed by the base64
  after ``whsec_``. https://www.standardwebhooks.com/

Any active secret may match, so that a secret can be rotated. Every failure
raises the same ``AuthenticationError``: a caller learns nothing about which
check failed. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Final

from common.errors import AuthenticationError, SecretNotConfiguredError

TOLERANCE_S: Final = 300
ADYEN_SIGNED_FIELDS: Final = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
_STANDARD_SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - a prefix, not a secret


def signature_error() -> AuthenticationError:
    """Return the one error every failed verification raises."""
    return AuthenticationError(
        "The webhook signature could not be verified.", code="invalid_signature"
    )


def verify_stripe_signature(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Check a ``Stripe-Signature`` header against the raw body.

    Raises:
        AuthenticationError: missing or malformed header, a timestamp more
            than ``tolerance_s`` from ``now`` either way, or no ``v1`` match.
    """
    timestamp, signatures = _stripe_header(header)
    _check_timestamp(timestamp, now, tolerance_s)

    # The library signs the timestamp as it parsed it: "%d" of the integer.
    signed = str(int(timestamp)).encode("ascii") + b"." + body
    for secret in secrets:
        expected = _hmac(secret.encode("utf-8"), signed).hex().encode("ascii")
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return
    raise signature_error()


def adyen_signing_string(item: Mapping[str, Any]) -> str:
    """Return the string an Adyen notification item's signature covers."""
    amount = item.get("amount")
    fields = dict(item)
    if isinstance(amount, Mapping):
        for name in ("value", "currency"):
            if name in amount:
                fields[name] = amount[name]
    return ":".join(
        str(fields[name]) if name in fields else "" for name in ADYEN_SIGNED_FIELDS
    )


def verify_adyen_item(item: Mapping[str, Any], hex_keys: Sequence[str]) -> None:
    """Check one ``NotificationRequestItem``'s ``additionalData.hmacSignature``.

    Raises:
        AuthenticationError: no signature, or none of the keys produces it.
        SecretNotConfiguredError: a configured key is not hexadecimal.
    """
    additional = item.get("additionalData")
    given = additional.get("hmacSignature") if isinstance(additional, Mapping) else None
    if not isinstance(given, str) or not given:
        raise signature_error()

    signed = adyen_signing_string(item).encode("utf-8")
    given_bytes = given.encode("utf-8")
    for key in hex_keys:
        expected = base64.b64encode(_hmac(_hex_key(key), signed))
        if hmac.compare_digest(expected, given_bytes):
            return
    raise signature_error()


def verify_standard_signature(
    body: bytes,
    headers: Mapping[str, str | None],
    secrets: Sequence[str],
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> None:
    """Check the Standard Webhooks headers against the raw body.

    ``headers`` maps ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature`` to their values.

    Raises:
        AuthenticationError: a missing header, a timestamp out of tolerance,
            or no ``v1`` signature made with an active secret.
        SecretNotConfiguredError: a configured secret is not ``whsec_`` base64.
    """
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signature = headers.get("webhook-signature")
    if not (message_id and timestamp and signature):
        raise signature_error()
    _check_timestamp(timestamp, now, tolerance_s)

    signed = f"{message_id}.{int(timestamp)}.".encode() + body
    given = _standard_signatures(signature)
    for secret in secrets:
        expected = _hmac(_standard_key(secret), signed)
        if any(hmac.compare_digest(expected, candidate) for candidate in given):
            return
    raise signature_error()


def _stripe_header(header: str | None) -> tuple[str, list[bytes]]:
    if not header:
        raise signature_error()

    timestamp: str | None = None
    signatures: list[bytes] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and timestamp is None:
            timestamp = value
        elif name == "v1" and value.isascii():
            signatures.append(value.encode("ascii"))
    if timestamp is None or not signatures:
        raise signature_error()
    return timestamp, signatures


def _check_timestamp(timestamp: str, now: float, tolerance_s: int) -> None:
    # Digits only: int() would also take "+1_700_000_000" or " 17 ".
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise signature_error()
    if abs(now - int(timestamp)) > tolerance_s:
        raise signature_error()


def _standard_signatures(header: str) -> list[bytes]:
    decoded = []
    for versioned in header.split(" "):
        version, _, value = versioned.partition(",")
        if version != "v1":
            continue
        try:
            decoded.append(base64.b64decode(value))
        except (binascii.Error, ValueError):
            continue
    return decoded


def _standard_key(secret: str) -> bytes:
    encoded = secret.removeprefix(_STANDARD_SECRET_PREFIX)
    try:
        # The reference library pads, since senders may drop the padding.
        key = base64.b64decode(encoded + "==")
    except (binascii.Error, ValueError) as exc:
        raise SecretNotConfiguredError(code="secret_malformed") from exc
    if not key:
        raise SecretNotConfiguredError(code="secret_malformed")
    return key


def _hex_key(key: str) -> bytes:
    try:
        return binascii.a2b_hex(key)
    except (binascii.Error, ValueError) as exc:
        raise SecretNotConfiguredError(code="secret_malformed") from exc


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()
