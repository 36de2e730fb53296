"""Webhooks: a provider's delivery, verified, normalised and recorded.

The service behind ``payment_webhooks``: the entry point builds a
``WebhookDelivery`` from the request, and ``receive_webhook`` verifies it
with the provider's active secrets, turns it into provider events and
records each of them once (``store.py``). Nothing is written unless every
signature of the delivery holds.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from common.errors import NotFoundError
from common.logs import current_invocation, log_fields
from common.payments.facts import ProviderEvent
from common.payments.providers.adyen import notification_items, parse_adyen_item
from common.payments.providers.standard import parse_standard_event
from common.payments.providers.stripe import parse_stripe_event
from common.payments.signatures import (
    verify_adyen_item,
    verify_standard_signature,
    verify_stripe_signature,
)
from common.payments.store import PaymentLedger
from common.secrets import SecretSource, secret_source

MAX_BODY_BYTES: Final = 1024 * 1024
# Names of secrets in Secret Manager, not their values.
STRIPE_SECRET: Final = "stripe-webhook-secret"  # noqa: S105
ADYEN_SECRET: Final = "adyen-hmac-key"  # noqa: S105
STANDARD_SECRET_PREFIX: Final = "standard-webhook-secret-"  # noqa: S105
# The Standard Webhooks senders this deployment knows, comma separated; each
# has its secret `standard-webhook-secret-<source>` declared beside it.
STANDARD_SOURCES_ENV: Final = "STANDARD_WEBHOOK_SOURCES"
STANDARD_HEADERS: Final = ("webhook-id", "webhook-timestamp", "webhook-signature")

Provider = Literal["stripe", "adyen", "standard"]

_ROUTE_RE: Final = re.compile(r"/v1/webhooks/(stripe|adyen|standard/([a-z0-9-]+))/?")
_RESERVED_SOURCES: Final = frozenset({"stripe", "adyen"})

_logger = logging.getLogger(__name__)

UNKNOWN_ROUTE: Final = NotFoundError(
    "No webhook endpoint at this path.", code="webhook_not_found"
)


@dataclass(frozen=True)
class WebhookDelivery:
    """One request from a provider: where it came in, its headers and body.

    ``headers`` holds the signature headers of the provider, by lower-case
    name; ``body`` the raw bytes, exactly as received.
    """

    provider: Provider
    body: bytes
    headers: Mapping[str, str]
    source: str | None = None


@dataclass(frozen=True)
class WebhookReceipt:
    """What a delivery recorded: new provider events and redeliveries."""

    provider: Provider
    recorded: int
    duplicates: int
    published: int


def route(path: str) -> tuple[Provider, str | None]:
    """Return the provider, and the Standard Webhooks source, of a path.

    Raises:
        NotFoundError: no provider, or a source this deployment does not know.
    """
    match = _ROUTE_RE.fullmatch(path)
    if match is None:
        raise UNKNOWN_ROUTE
    if match[2] is None:
        provider: Provider = "stripe" if match[1] == "stripe" else "adyen"
        return provider, None
    if match[2] not in known_sources():
        raise UNKNOWN_ROUTE
    return "standard", match[2]


def known_sources() -> frozenset[str]:
    """Return the Standard Webhooks sources named in the environment."""
    names = os.environ.get(STANDARD_SOURCES_ENV, "").split(",")
    return frozenset(n.strip() for n in names if n.strip()) - _RESERVED_SOURCES


def signature_headers(provider: Provider) -> tuple[str, ...]:
    """Return the headers a provider signs with, in lower case."""
    if provider == "stripe":
        return ("stripe-signature",)
    if provider == "standard":
        return STANDARD_HEADERS
    return ()


def receive_webhook(
    delivery: WebhookDelivery,
    ledger: PaymentLedger,
    secrets: SecretSource | None = None,
    now: float | None = None,
) -> WebhookReceipt:
    """Verify a delivery, then record each of its provider events once.

    Raises:
        AuthenticationError: a signature does not hold (401); nothing written.
        InvalidEventError: a verified body that is not an event (400).
        SecretNotConfiguredError: the provider's secret has no value (500).
        UnavailableError: Firestore or Pub/Sub failed (503); what was
            recorded stays recorded, and the provider's retry finishes.
    """
    events = verified_events(delivery, secrets or secret_source(), now or time.time())

    recorded = duplicates = published = 0
    for event in events:
        outcome = ledger.record(event)
        duplicates += outcome.duplicate
        recorded += not outcome.duplicate
        published += outcome.published_type is not None
        _log_recorded(event, outcome.duplicate)

    ledger.sweep_outbox()
    return WebhookReceipt(delivery.provider, recorded, duplicates, published)


def verified_events(
    delivery: WebhookDelivery, secrets: SecretSource, now: float
) -> list[ProviderEvent]:
    """Verify a delivery and return its provider events, or raise."""
    body, headers = delivery.body, delivery.headers
    if delivery.provider == "stripe":
        values = secrets.active_values(STRIPE_SECRET)
        verify_stripe_signature(body, headers.get("stripe-signature"), values, now)
        return [parse_stripe_event(body)]

    if delivery.provider == "adyen":
        items = notification_items(body)
        keys = secrets.active_values(ADYEN_SECRET)
        # Every item first: one bad signature rejects the whole batch.
        for item in items:
            verify_adyen_item(item, keys)
        return [parse_adyen_item(item, body) for item in items]

    assert delivery.source is not None
    values = secrets.active_values(STANDARD_SECRET_PREFIX + delivery.source)
    verify_standard_signature(body, headers, values, now)
    return [
        parse_standard_event(
            delivery.source,
            headers["webhook-id"],
            headers["webhook-timestamp"],
            body,
        )
    ]


def _log_recorded(event: ProviderEvent, duplicate: bool) -> None:
    # One line per invocation is the rule: what went well rides on the
    # invocation's own line; only an event kept without its fact gets one.
    current = current_invocation()
    if current is not None:
        current.add_fields(
            scope=event.scope,
            provider_event_type=event.event_type,
            payment_key=event.fact.payment_key if event.fact else None,
            duplicate=duplicate,
        )
    if event.fact_error is not None:
        _logger.warning(
            "provider event recorded without a fact",
            extra=log_fields(
                scope=event.scope,
                provider_event_type=event.event_type,
                code=event.fact_error,
            ),
        )
