"""Providers: each payment provider's webhook payloads, turned into facts.

Shared here: reading a verified body as JSON, picking typed members out of
it with an ``InvalidEventError`` that names what was expected, and attaching
a fact to an event, or the reason none could be read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pydantic

from common.errors import InvalidEventError
from common.payments.facts import PaymentFact, ProviderEvent


def json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse a body that must be one JSON object.

    Raises:
        InvalidEventError: not UTF-8 JSON, or not an object.
    """
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidEventError(f"expected the {what} as JSON") from exc
    if not isinstance(parsed, dict):
        raise InvalidEventError(f"expected the {what} as a JSON object")
    return parsed


def member(obj: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """Return a member that is an object, or an empty mapping when absent."""
    value = obj.get(name)
    return value if isinstance(value, Mapping) else {}


def text(obj: Mapping[str, Any], name: str) -> str | None:
    """Return a non-empty string member, or None."""
    value = obj.get(name)
    return value if isinstance(value, str) and value else None


def required_text(obj: Mapping[str, Any], name: str, what: str) -> str:
    """Return a non-empty string member.

    Raises:
        InvalidEventError: absent or not a string.
    """
    value = text(obj, name)
    if value is None:
        raise InvalidEventError(f"expected {what} to have a string '{name}'")
    return value


def minor_amount(obj: Mapping[str, Any], name: str, what: str) -> int | None:
    """Return an integer amount in minor units, None when absent.

    Raises:
        InvalidEventError: present but not a non-negative integer (a float
            or a string is refused rather than guessed at).
    """
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEventError(
            f"expected {what} '{name}' as a non-negative integer of minor units",
            code="invalid_amount",
        )
    return value


def timestamp(obj: Mapping[str, Any], name: str) -> datetime | None:
    """Return an RFC 3339 member with its offset, in UTC; None otherwise."""
    value = text(obj, name)
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def with_fact(
    recorded: ProviderEvent, read_fact: Callable[[], PaymentFact | None]
) -> ProviderEvent:
    """Return the event with the fact ``read_fact`` finds in it.

    An event of a known type whose fact cannot be read (an amount that is not
    an integer, an unknown currency) is kept with ``fact_error`` instead:
    recorded raw for an operator, rather than refused for days of retries.
    """
    try:
        fact = read_fact()
    except InvalidEventError as exc:
        return recorded.model_copy(update={"fact_error": exc.code})
    except pydantic.ValidationError:
        return recorded.model_copy(update={"fact_error": "invalid_fact"})
    return recorded.model_copy(update={"fact": fact})
