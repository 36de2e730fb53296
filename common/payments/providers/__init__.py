"""Providers: each payment provider's webhook payloads, turned into facts.

Shared here: reading a verified body as JSON and picking typed members out
of it, with an ``InvalidEventError`` that names what was expected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from common.errors import InvalidEventError


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
