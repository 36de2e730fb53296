"""PII: keyed hashes that let analysts join on e-mail and phone without them.

HMAC-SHA256 under the newest value of the secret `customer-pii-hash-key`, over
the same canonical form that uniqueness uses, so that one person's value has
one hash across events. Rotating the key changes every hash from then on.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from common.customers.uniqueness import Kind
from common.secrets import secret_source

# The name of the secret, not its value.
HASH_KEY_SECRET: Final = "customer-pii-hash-key"  # noqa: S105


def keyed_hash(kind: Kind, value: str) -> str:
    """The hex HMAC of a normalised e-mail or phone number."""
    key = secret_source().active_values(HASH_KEY_SECRET)[0]
    canonical = value.casefold() if kind == "email" else value
    message = f"{kind}:{canonical}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
