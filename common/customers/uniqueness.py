"""Uniqueness: e-mail and phone held by one customer at a time.

Firestore has no unique index, so each value in use is a reservation
document keyed by the value's hash and created with ``create()``, which only
one of several concurrent writers can win (EMULATORS.md). Reservations are
staged in the same batch as the profile write that starts or stops using
them, so a profile and its reservations change together or not at all; a
batch that fails on an existing reservation is settled here: the value is
taken, or the reservation is one no profile uses and is reclaimed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Final, Literal

from common.errors import ConflictError, FieldError, google_errors
from common.logs import log_fields

if TYPE_CHECKING:
    from google.cloud import firestore

COLLECTION: Final = "customer_unique_values"
CUSTOMERS: Final = "customers"

Kind = Literal["email", "phone"]

_logger = logging.getLogger(__name__)


def value_key(kind: Kind, value: str) -> str:
    """The key of a normalised value: e-mail case-insensitively, phone as E.164."""
    canonical = value.casefold() if kind == "email" else value
    return hashlib.sha256(f"{kind}:{canonical}".encode()).hexdigest()


def stage_reservation(
    client: firestore.Client,
    batch: firestore.WriteBatch,
    kind: Kind,
    key: str,
    customer_id: str,
    now: datetime,
) -> None:
    """Add the creation of a reservation to ``batch``; it fails if one exists."""
    batch.create(
        _ref(client, key), {"kind": kind, "customer_id": customer_id, "at": now}
    )


def stage_release(
    client: firestore.Client, batch: firestore.WriteBatch, key: str
) -> None:
    """Add the deletion of a reservation the customer's profile stops using."""
    batch.delete(_ref(client, key))


def settle(
    client: firestore.Client, reserved: list[tuple[Kind, str]], customer_id: str
) -> None:
    """After a batch failed on an existing reservation, decide what it was.

    Returns when every reservation in the way was reclaimed, so the batch can
    be tried again.

    Raises:
        ConflictError: another customer's profile uses the value (409
            ``email_taken`` or ``phone_taken``).
        UnavailableError: Firestore did not answer.
    """
    from google.api_core.exceptions import FailedPrecondition, NotFound

    with google_errors():
        for kind, key in reserved:
            snapshot = _ref(client, key).get()
            if not snapshot.exists:
                continue
            owner = snapshot.get("customer_id")
            if _in_use(client, owner, kind, key):
                raise _taken(kind)

            # Left by a profile that no longer uses it (one deleted outside
            # this API): the value is free.
            _logger.warning("unused reservation reclaimed", extra=log_fields(kind=kind))
            option = client.write_option(last_update_time=snapshot.update_time)
            with contextlib.suppress(FailedPrecondition, NotFound):
                snapshot.reference.delete(option=option)


def _in_use(client: firestore.Client, owner: str, kind: Kind, key: str) -> bool:
    profile = client.collection(CUSTOMERS).document(owner).get()
    return bool(profile.exists and profile.get(f"{kind}_key") == key)


def _ref(client: firestore.Client, key: str) -> firestore.DocumentReference:
    ref: firestore.DocumentReference = client.collection(COLLECTION).document(key)
    return ref


def _taken(kind: Kind) -> ConflictError:
    label = "e-mail address" if kind == "email" else "phone number"
    return ConflictError(
        f"The {label} is already used by another customer.",
        code=f"{kind}_taken",
        field_errors=[
            FieldError(kind, f"{kind}_taken", f"this {label} is already in use")
        ],
    )
