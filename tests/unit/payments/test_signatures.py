"""Signature checks against what the providers' own libraries produce."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from common.errors import AuthenticationError, SecretNotConfiguredError
from common.payments.signatures import (
    adyen_signing_string,
    verify_adyen_item,
    verify_standard_signature,
    verify_stripe_signature,
)
from tests.payment_samples import (
    ADYEN_KEY,
    STANDARD_SECRET,
    STRIPE_SECRET,
    adyen_item,
    adyen_signed,
    body_of,
    sample,
    standard_headers,
    stripe_event,
    stripe_headers,
)

NOW = 1_796_112_000
OTHER_STRIPE = "whsec_another_endpoint_secret"
OTHER_ADYEN = "0" * 64
OTHER_STANDARD = "whsec_b3RoZXItc291cmNlLXNlY3JldC12YWx1ZQ=="


def _stripe(body: bytes, secret: str = STRIPE_SECRET, at: int = NOW) -> str:
    return stripe_headers(body, secret, timestamp=at)["Stripe-Signature"]


def _signed_item(**fields: Any) -> dict[str, Any]:
    batch = adyen_signed([adyen_item("authorisation", **fields)])
    item: dict[str, Any] = batch["notificationItems"][0]["NotificationRequestItem"]
    return item


def _standard(body: bytes, secret: str = STANDARD_SECRET, at: int = NOW) -> Any:
    headers = standard_headers(body, "msg_2Kd9", secret, timestamp=at)
    return {name.lower(): value for name, value in headers.items()}


def test_verify_stripe_signature_official_header_passes() -> None:
    body = body_of(stripe_event("charge.succeeded"))

    verify_stripe_signature(body, _stripe(body), [STRIPE_SECRET], NOW)


def test_verify_stripe_signature_tampered_body_is_rejected() -> None:
    body = body_of(stripe_event("charge.succeeded"))
    tampered = body.replace(b'"amount":2500', b'"amount":250000')

    with pytest.raises(AuthenticationError) as raised:
        verify_stripe_signature(tampered, _stripe(body), [STRIPE_SECRET], NOW)
    assert raised.value.code == "invalid_signature"


def test_verify_stripe_signature_wrong_secret_is_rejected() -> None:
    body = body_of(stripe_event("charge.succeeded"))

    with pytest.raises(AuthenticationError):
        verify_stripe_signature(body, _stripe(body, OTHER_STRIPE), [STRIPE_SECRET], NOW)


def test_verify_stripe_signature_rotated_secret_either_value_passes() -> None:
    body = body_of(stripe_event("charge.succeeded"))
    active = [OTHER_STRIPE, STRIPE_SECRET]

    verify_stripe_signature(body, _stripe(body, STRIPE_SECRET), active, NOW)
    verify_stripe_signature(body, _stripe(body, OTHER_STRIPE), active, NOW)


def test_verify_stripe_signature_any_matching_v1_passes() -> None:
    body = body_of(stripe_event("charge.succeeded"))
    old = _stripe(body, OTHER_STRIPE).split(",")[1]
    header = f"{_stripe(body)},{old}"

    verify_stripe_signature(body, header, [STRIPE_SECRET], NOW)


@pytest.mark.parametrize("skew_s", [-301, 301, -86_400, 86_400])
def test_verify_stripe_signature_outside_tolerance_is_rejected(skew_s: int) -> None:
    body = body_of(stripe_event("charge.succeeded"))

    with pytest.raises(AuthenticationError):
        verify_stripe_signature(
            body, _stripe(body, at=NOW + skew_s), [STRIPE_SECRET], NOW
        )


@pytest.mark.parametrize("skew_s", [-300, 0, 300])
def test_verify_stripe_signature_inside_tolerance_passes(skew_s: int) -> None:
    body = body_of(stripe_event("charge.succeeded"))

    verify_stripe_signature(body, _stripe(body, at=NOW + skew_s), [STRIPE_SECRET], NOW)


@pytest.mark.parametrize(
    "header",
    [None, "", "t=1796112000", "v1=abc", "t=abc,v1=00", "t=+1796112000,v1=00", "x"],
)
def test_verify_stripe_signature_missing_or_malformed_header_is_rejected(
    header: str | None,
) -> None:
    with pytest.raises(AuthenticationError):
        verify_stripe_signature(b"{}", header, [STRIPE_SECRET], NOW)


def test_verify_adyen_item_official_signature_passes() -> None:
    verify_adyen_item(_signed_item(), [ADYEN_KEY])


@pytest.mark.parametrize(
    "fields",
    [
        {"merchantReference": "order:42:a\\b"},
        {"merchantReference": "\\:\\\\:", "reason": "x:y"},
        {"pspReference": "PSP:1\\2"},
    ],
)
def test_verify_adyen_item_values_with_colon_and_backslash_pass(
    fields: dict[str, str],
) -> None:
    verify_adyen_item(_signed_item(**fields), [ADYEN_KEY])


def test_verify_adyen_item_missing_original_reference_is_signed_empty() -> None:
    item = _signed_item()

    assert adyen_signing_string(item).split(":")[1] == ""
    verify_adyen_item(item, [ADYEN_KEY])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("pspReference", "QFQTPCQ8HXSKGK83"),
        ("success", "false"),
        ("eventCode", "CAPTURE"),
        ("amount", {"currency": "EUR", "value": 42000}),
        ("merchantAccountCode", "OtherAccount"),
    ],
)
def test_verify_adyen_item_tampered_signed_field_is_rejected(
    field: str, value: Any
) -> None:
    item = _signed_item()
    item[field] = value

    with pytest.raises(AuthenticationError):
        verify_adyen_item(item, [ADYEN_KEY])


def test_verify_adyen_item_wrong_key_is_rejected() -> None:
    with pytest.raises(AuthenticationError):
        verify_adyen_item(_signed_item(), [OTHER_ADYEN])


def test_verify_adyen_item_rotated_key_either_value_passes() -> None:
    verify_adyen_item(_signed_item(), [OTHER_ADYEN, ADYEN_KEY])


def test_verify_adyen_item_without_signature_is_rejected() -> None:
    item = copy.deepcopy(_signed_item())
    del item["additionalData"]["hmacSignature"]

    with pytest.raises(AuthenticationError):
        verify_adyen_item(item, [ADYEN_KEY])


def test_verify_adyen_item_key_not_hex_is_a_configuration_error() -> None:
    with pytest.raises(SecretNotConfiguredError):
        verify_adyen_item(_signed_item(), ["not-hex"])


def test_verify_standard_signature_reference_library_passes() -> None:
    body = body_of(sample("standard/payment.succeeded"))

    verify_standard_signature(body, _standard(body), [STANDARD_SECRET], NOW)


def test_verify_standard_signature_tampered_body_is_rejected() -> None:
    body = body_of(sample("standard/payment.succeeded"))
    headers = _standard(body)

    with pytest.raises(AuthenticationError):
        verify_standard_signature(body + b" ", headers, [STANDARD_SECRET], NOW)


def test_verify_standard_signature_rotated_secret_passes() -> None:
    body = body_of(sample("standard/payment.succeeded"))
    headers = _standard(body, OTHER_STANDARD)

    verify_standard_signature(body, headers, [STANDARD_SECRET, OTHER_STANDARD], NOW)
    with pytest.raises(AuthenticationError):
        verify_standard_signature(body, headers, [STANDARD_SECRET], NOW)


def test_verify_standard_signature_several_signatures_any_passes() -> None:
    body = body_of(sample("standard/payment.succeeded"))
    headers = _standard(body)
    other = _standard(body, OTHER_STANDARD)["webhook-signature"]
    headers["webhook-signature"] = f"{other} v2,abc {headers['webhook-signature']}"

    verify_standard_signature(body, headers, [STANDARD_SECRET], NOW)


@pytest.mark.parametrize("skew_s", [-301, 301])
def test_verify_standard_signature_outside_tolerance_is_rejected(skew_s: int) -> None:
    body = body_of(sample("standard/payment.succeeded"))
    headers = _standard(body, at=NOW + skew_s)

    with pytest.raises(AuthenticationError):
        verify_standard_signature(body, headers, [STANDARD_SECRET], NOW)


@pytest.mark.parametrize(
    "missing", ["webhook-id", "webhook-timestamp", "webhook-signature"]
)
def test_verify_standard_signature_missing_header_is_rejected(missing: str) -> None:
    body = body_of(sample("standard/payment.succeeded"))
    headers = _standard(body)
    del headers[missing]

    with pytest.raises(AuthenticationError):
        verify_standard_signature(body, headers, [STANDARD_SECRET], NOW)


def test_verify_signatures_reject_with_one_undiscriminating_error() -> None:
    errors = []
    for header in (None, "t=1,v1=00", _stripe(b"{}", OTHER_STRIPE)):
        with pytest.raises(AuthenticationError) as raised:
            verify_stripe_signature(b"{}", header, [STRIPE_SECRET], time.time())
        errors.append((raised.value.code, raised.value.detail))

    assert len(set(errors)) == 1
