"""Secret values handed to functions locally, where Secret Manager is absent.

PRODUCT.md: secret `stripe-webhook-secret` is read from the variable
`SECRET_STRIPE_WEBHOOK_SECRET`; several active values are separated by
commas; demo values are used, and printed, when the variable is unset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

# Fixed, public and useless outside this machine: never a real secret.
DEMO_VALUES = {
    "stripe-webhook-secret": "whsec_local_demo_stripe_secret",
    "adyen-hmac-key": (
        "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
    ),
}
DEMO_STANDARD_PREFIX = "standard-webhook-secret-"
DEMO_STANDARD_VALUE = "whsec_bG9jYWwtZGVtby1zdGFuZGFyZC13ZWJob29rcw=="


def variable_name(secret: str) -> str:
    """The environment variable that holds a secret locally."""
    return "SECRET_" + secret.replace("-", "_").upper()


def demo_value(secret: str) -> str:
    """The demo value used for a secret that the caller left unset."""
    if secret in DEMO_VALUES:
        return DEMO_VALUES[secret]
    if secret.startswith(DEMO_STANDARD_PREFIX):
        return DEMO_STANDARD_VALUE
    return f"local-demo-{secret}"


def secret_env(
    secrets: Iterable[str], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables for `secrets`: the caller's values, else demo values."""
    source = dict(os.environ) | dict(overrides or {})
    env = {}
    for secret in secrets:
        name = variable_name(secret)
        env[name] = source.get(name) or demo_value(secret)
    return env


def demo_defaults(secrets: Iterable[str]) -> dict[str, str]:
    """The secrets that will run on demo values, with those values."""
    return {
        variable_name(s): demo_value(s)
        for s in secrets
        if not os.environ.get(variable_name(s))
    }
