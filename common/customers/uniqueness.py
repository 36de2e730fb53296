"""Uniqueness: e-mail and phone held by one customer at a time.

Firestore has no unique index, so each value in use is a reservation
document created with ``create()``, which exactly one of several concurrent
callers wins (EMULATORS.md). A reservation is taken before the profile that
uses it is written and released after the profile stops using it; one left
behind by a crash in between is reclaimed once its owner's profile shows it
is not theirs and it has outlived any request that could still commit it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from common.errors import ConflictError, FieldError, google_errors
from common.logs import log_fields

if TYPE_CHECKING:
    from google.cloud import firestore

COLLECTION: Final = "customer_unique_values"
CUSTOMERS: Final = "customers"
# Longer than any request that took a reservation may still run.
STALE_AFTER: Final = timedelta(minutes=15)
_ROUNDS: Final = 3

Kind = Literal["email", "phone"]

_logger = logging.getLogger(__name__)


def value_key(kind: Kind, value: str) -> str:
    """The key of a normalised value: e-mail case-insensitively, phone as E.164."""
    canonical = value.casefold() if kind == "email" else value
    return hashlib.sha256(f"{kind}:{canonical}".encode()).hexdigest()


def reserve(
    client: firestore.Client, kind: Kind, key: str, customer_id: str, now: datetime
) -> None:
    """Hold ``key`` for ``customer_id``; a no-op if the customer holds it.

    Raises:
        ConflictError: another customer holds it (409 ``<kind>_taken``).
        UnavailableError: Firestore did not answer.
    """
    from google.api_core.exceptions import AlreadyExists

    ref = client.collection(COLLECTION).document(key)
    with google_errors():
        for _ in range(_ROUNDS):
            try:
                ref.create({"kind": kind, "customer_id": customer_id, "at": now})
                return
            except AlreadyExists:
                pass
            if _settle(client, ref, kind, key, customer_id, now):
                return
    raise _taken(kind)


def release(client: firestore.Client, kind: Kind, key: str, customer_id: str) -> None:
    """Give ``key`` up, if ``customer_id`` holds it."""
    from google.api_core.exceptions import FailedPrecondition, NotFound

    ref = client.collection(COLLECTION).document(key)
    with google_errors():
        snapshot = ref.get()
        if not snapshot.exists or snapshot.get("customer_id") != customer_id:
            return
        option = client.write_option(last_update_time=snapshot.update_time)
        try:
            ref.delete(option=option)
        except (FailedPrecondition, NotFound):
            return


def _settle(
    client: firestore.Client,
    ref: firestore.DocumentReference,
    kind: Kind,
    key: str,
    customer_id: str,
    now: datetime,
) -> bool:
    """Tell whether the customer already holds the key; reclaim a stale one."""
    from google.api_core.exceptions import FailedPrecondition, NotFound

    snapshot = ref.get()
    if not snapshot.exists:
        return False
    owner = snapshot.get("customer_id")
    if owner == customer_id:
        return True
    if _held(client, owner, kind, key, snapshot.get("at"), now):
        raise _taken(kind)

    _logger.warning("stale reservation reclaimed", extra=log_fields(kind=kind))
    option = client.write_option(last_update_time=snapshot.update_time)
    with contextlib.suppress(FailedPrecondition, NotFound):
        ref.delete(option=option)
    return False


def _held(
    client: firestore.Client,
    owner: str,
    kind: Kind,
    key: str,
    taken_at: datetime,
    now: datetime,
) -> bool:
    if now - taken_at < STALE_AFTER:
        return True
    profile = client.collection(CUSTOMERS).document(owner).get()
    return bool(profile.exists and profile.get(f"{kind}_key") == key)


def _taken(kind: Kind) -> ConflictError:
    label = "e-mail address" if kind == "email" else "phone number"
    return ConflictError(
        f"The {label} is already used by another customer.",
        code=f"{kind}_taken",
        field_errors=[
            FieldError(kind, f"{kind}_taken", f"this {label} is already in use")
        ],
    )
