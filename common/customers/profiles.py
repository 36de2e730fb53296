"""Profiles: create, read and change a customer's profile.

Each change commits in one Firestore batch with its event in the outbox, so
that the change and its event exist together or not at all; the event is
published after the commit, and again by the outbox sweep if the process
dies first (common/outbox.py). Writes that depend on what was read carry an
update-time precondition instead of a transaction: the Firestore emulator
deadlocks on contended transactions, and a precondition is all they need.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from common.customers import events, records, uniqueness
from common.customers.models import CustomerCreate, CustomerProfile, CustomerUpdate
from common.errors import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    UnavailableError,
    google_errors,
)
from common.events import EventEnvelope, new_event
from common.httpapi import Version
from common.logs import log_fields
from common.outbox import Outbox

if TYPE_CHECKING:
    from google.cloud import firestore

CONTACT_FIELDS: Final = ("email", "phone", "address")
# Rounds of a batch against reservations that turn out to be reclaimable.
_ROUNDS: Final = 3

_logger = logging.getLogger(__name__)
_outbox_lock = threading.Lock()
_outbox: Outbox | None = None


class _AlreadyExistsError(Exception):
    """A batch found a document it creates committed already."""


@dataclass(frozen=True)
class VersionedProfile:
    """A profile with the version it was read or written at."""

    profile: CustomerProfile
    version: Version


@dataclass(frozen=True)
class Replay:
    """The first answer an idempotency key holds, to repeat instead."""

    outcome: dict[str, Any]


class CreationRecord(Protocol):
    """The idempotency record a creation commits in its own batch."""

    def stage(self, batch: firestore.WriteBatch, profile: CustomerProfile) -> None:
        """Add the record's creation, with the answer for ``profile``."""

    def stored(self) -> dict[str, Any] | None:
        """Return the outcome the key holds, after a batch met a record."""


def customer_not_found() -> NotFoundError:
    """The answer for a customer that does not exist or is not the caller's."""
    return NotFoundError("No such customer.", code="customer_not_found")


def outbox() -> Outbox:
    """The process's outbox."""
    global _outbox
    with _outbox_lock:
        if _outbox is None:
            _outbox = Outbox()
        return _outbox


def relay(event_ids: list[str]) -> None:
    """Publish events of an earlier commit still pending; the sweep retries."""
    try:
        outbox().relay(event_ids)
    except UnavailableError as exc:
        _logger.warning("event relay deferred", extra=log_fields(code=exc.code))
    outbox().sweep_if_due()


def publish_committed(events_by_topic: list[tuple[str, EventEnvelope]]) -> None:
    """Publish the events this request has just committed; the sweep retries."""
    try:
        for topic, envelope in events_by_topic:
            outbox().relay_committed(topic, [envelope])
    except UnavailableError as exc:
        _logger.warning("event relay deferred", extra=log_fields(code=exc.code))
    outbox().sweep_if_due()


def read_profile(client: firestore.Client, customer_id: str) -> VersionedProfile:
    """Return a profile with its version.

    Raises:
        NotFoundError: no such customer (404 ``customer_not_found``).
    """
    with google_errors():
        snapshot = records.customer_ref(client, customer_id).get()
    if not snapshot.exists:
        raise customer_not_found()
    return _versioned(snapshot.to_dict() or {}, snapshot.update_time)


def created_etag(client: firestore.Client, customer_id: str) -> str | None:
    """The ETag a profile had when it was created, or None if it has gone.

    A profile is created by one write, so its create time is the update time
    its first answer named.
    """
    with google_errors():
        snapshot = records.customer_ref(client, customer_id).get()
    if not snapshot.exists or snapshot.create_time is None:
        return None
    return Version.of(snapshot.create_time).etag


def create_profile(
    client: firestore.Client,
    customer_id: str,
    body: CustomerCreate,
    request_id: str,
    now: datetime,
    record: CreationRecord,
) -> VersionedProfile | Replay:
    """Create the caller's profile, once, with e-mail and phone reserved.

    ``request_id`` names the request in the profile (``written_by``). The
    request's idempotency ``record`` commits in the same batch: a retry or a
    concurrent duplicate meets it and answers with the outcome it holds.

    Raises:
        ConflictError: a profile exists (``customer_exists``), or the e-mail
            or phone belongs to another customer (``email_taken``,
            ``phone_taken``).
    """
    stored = records.new_profile(customer_id, body, request_id, now)
    event = new_event(
        events.PROFILE_CREATED,
        customer_id,
        records.profile_event_data(stored),
        event_id=f"{customer_id}.profile.created",
        occurred_at=now,
    )
    reserved: list[tuple[uniqueness.Kind, str]] = [
        ("email", stored["email_key"]),
        ("phone", stored["phone_key"]),
    ]
    for _ in range(_ROUNDS):
        # No read first: the batch's create() finds an existing profile or
        # reservation, and a new customer costs one commit.
        try:
            written = _commit_creation(
                client, customer_id, stored, event, reserved, record
            )
        except _AlreadyExistsError:
            kept = record.stored()
            if kept is not None:
                # The first attempt may have died before it published.
                relay([event.event_id])
                return Replay(kept)
            _refuse_if_profile_exists(client, customer_id)
            uniqueness.settle(client, reserved, customer_id)
            continue
        publish_committed([(events.TOPIC, event)])
        return written
    raise _contended()


def _commit_creation(
    client: firestore.Client,
    customer_id: str,
    stored: dict[str, Any],
    event: EventEnvelope,
    reserved: list[tuple[uniqueness.Kind, str]],
    record: CreationRecord,
) -> VersionedProfile:
    now = stored["created_at"]
    batch = client.batch()
    batch.create(records.customer_ref(client, customer_id), stored)
    for kind, key in reserved:
        uniqueness.stage_reservation(client, batch, kind, key, customer_id, now)
    outbox().stage(batch, events.TOPIC, event)
    record.stage(batch, records.profile(stored))
    results = _commit(batch)
    return _versioned(stored, results[0].update_time)


def _commit(batch: firestore.WriteBatch) -> list[Any]:
    """Commit a batch; a create() on an existing document is told apart.

    Raises:
        _AlreadyExistsError: a document the batch creates exists.
        PreconditionFailedError: a document changed since it was read.
    """
    from google.api_core.exceptions import AlreadyExists, FailedPrecondition

    with google_errors():
        try:
            results: list[Any] = batch.commit()
        except AlreadyExists as exc:
            raise _AlreadyExistsError from exc
        except FailedPrecondition as exc:
            raise PreconditionFailedError(code="etag_mismatch") from exc
    return results


def _contended() -> ConflictError:
    return ConflictError(
        "The profile is being changed by another request; retry.",
        code="request_in_progress",
        retryable=True,
    )


def _refuse_if_profile_exists(client: firestore.Client, customer_id: str) -> None:
    with google_errors():
        exists = records.customer_ref(client, customer_id).get().exists
    if exists:
        raise ConflictError(
            "A profile already exists for this account.", code="customer_exists"
        )


def update_profile(
    client: firestore.Client,
    customer_id: str,
    body: CustomerUpdate,
    version: Version,
    request_id: str,
    now: datetime,
) -> VersionedProfile:
    """Change contact fields of the profile at ``version``.

    Raises:
        NotFoundError: no such customer.
        PreconditionFailedError: the profile changed since ``version`` (412).
        ConflictError: the new e-mail or phone belongs to another customer.
    """
    with google_errors():
        snapshot = records.customer_ref(client, customer_id).get()
    if not snapshot.exists:
        raise customer_not_found()
    if Version.of(snapshot.update_time) != version:
        raise PreconditionFailedError(code="etag_mismatch")

    current = snapshot.to_dict() or {}
    changes = _changes(current, body)
    if not changes:
        return _versioned(current, snapshot.update_time)

    changes |= {"updated_at": now, "written_by": request_id}
    updated = current | changes
    changed = sorted(name for name in CONTACT_FIELDS if name in changes)
    event = new_event(
        events.PROFILE_UPDATED,
        customer_id,
        records.profile_event_data(updated) | {"changed_fields": changed},
        event_id=str(uuid.uuid4()),
        occurred_at=now,
    )
    kinds: tuple[uniqueness.Kind, ...] = ("email", "phone")
    moved = [
        (kind, current[f"{kind}_key"], changes[f"{kind}_key"])
        for kind in kinds
        if f"{kind}_key" in changes
    ]
    for _ in range(_ROUNDS):
        try:
            results = _commit_update(
                client, customer_id, changes, version, event, moved
            )
        except _AlreadyExistsError:
            uniqueness.settle(client, [(k, new) for k, _, new in moved], customer_id)
            continue
        publish_committed([(events.TOPIC, event)])
        return _versioned(updated, results[0].update_time)
    raise _contended()


def _commit_update(
    client: firestore.Client,
    customer_id: str,
    changes: dict[str, Any],
    version: Version,
    event: EventEnvelope,
    moved: list[tuple[uniqueness.Kind, str, str]],
) -> list[Any]:
    batch = client.batch()
    option = client.write_option(last_update_time=version.update_time())
    batch.update(records.customer_ref(client, customer_id), changes, option=option)
    for kind, old, new in moved:
        now = changes["updated_at"]
        uniqueness.stage_reservation(client, batch, kind, new, customer_id, now)
        uniqueness.stage_release(client, batch, old)
    outbox().stage(batch, events.TOPIC, event)
    return _commit(batch)


def _changes(current: dict[str, Any], body: CustomerUpdate) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    given = body.model_dump(mode="json", exclude_unset=True)
    for name, value in given.items():
        if current.get(name) != value:
            changes[name] = value
    for kind in ("email", "phone"):
        if kind in changes:
            key = uniqueness.value_key(kind, changes[kind])
            changes[f"{kind}_key"] = key
    return changes


def _versioned(stored: dict[str, Any], update_time: datetime) -> VersionedProfile:
    return VersionedProfile(records.profile(stored), Version.of(update_time))
