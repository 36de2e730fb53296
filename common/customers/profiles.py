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
from typing import TYPE_CHECKING, Any, Final

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

_logger = logging.getLogger(__name__)
_outbox_lock = threading.Lock()
_outbox: Outbox | None = None


class _ProfileExistsError(Exception):
    """A profile creation found the profile committed already."""


@dataclass(frozen=True)
class VersionedProfile:
    """A profile with the version it was read or written at."""

    profile: CustomerProfile
    version: Version


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


def create_profile(
    client: firestore.Client,
    customer_id: str,
    body: CustomerCreate,
    request_id: str,
    now: datetime,
) -> VersionedProfile:
    """Create the caller's profile, once, with e-mail and phone reserved.

    ``request_id`` names the request; a retry of the same request that finds
    its own earlier commit answers it instead of a conflict.

    Raises:
        ConflictError: a profile exists (``customer_exists``), or the e-mail
            or phone belongs to another customer (``email_taken``,
            ``phone_taken``).
    """
    # No read first: the batch's create() finds an existing profile, and the
    # common case of a new one saves a round trip.
    stored = records.new_profile(customer_id, body, request_id, now)
    for kind in ("email", "phone"):
        uniqueness.reserve(client, kind, stored[f"{kind}_key"], customer_id, now)

    event = new_event(
        events.PROFILE_CREATED,
        customer_id,
        records.profile_event_data(stored),
        event_id=f"{customer_id}.profile.created",
        occurred_at=now,
    )
    try:
        written = _commit_creation(client, customer_id, stored, event)
    except _ProfileExistsError:
        return _answer_existing(client, customer_id, stored, request_id)
    publish_committed([(events.TOPIC, event)])
    return written


def _commit_creation(
    client: firestore.Client,
    customer_id: str,
    stored: dict[str, Any],
    event: EventEnvelope,
) -> VersionedProfile:
    """Commit the profile with its event.

    Raises:
        _ProfileExistsError: the profile, or its creation event, exists.
    """
    from google.api_core.exceptions import AlreadyExists

    batch = client.batch()
    batch.create(records.customer_ref(client, customer_id), stored)
    outbox().stage(batch, events.TOPIC, event)
    with google_errors():
        try:
            results = batch.commit()
        except AlreadyExists as exc:
            raise _ProfileExistsError from exc
    return _versioned(stored, results[0].update_time)


def _answer_existing(
    client: firestore.Client,
    customer_id: str,
    stored: dict[str, Any],
    request_id: str,
) -> VersionedProfile:
    """The profile this request committed before, or a conflict."""
    try:
        existing = _existing_own_profile(client, customer_id, request_id)
    except ConflictError:
        _release_unused(client, customer_id, stored)
        raise
    if existing is None:
        # The outbox entry exists but not the profile: only a deleted profile.
        raise ConflictError(
            "A profile already existed for this account.", code="customer_exists"
        )
    return existing


def _existing_own_profile(
    client: firestore.Client, customer_id: str, request_id: str
) -> VersionedProfile | None:
    with google_errors():
        snapshot = records.customer_ref(client, customer_id).get()
    if not snapshot.exists:
        return None
    stored = snapshot.to_dict() or {}
    if stored.get("written_by") != request_id or stored.get("created_at") != stored.get(
        "updated_at"
    ):
        raise ConflictError(
            "A profile already exists for this account.", code="customer_exists"
        )
    # Our own commit, from an attempt that died before it answered.
    relay([f"{customer_id}.profile.created"])
    return _versioned(stored, snapshot.update_time)


def _release_unused(
    client: firestore.Client, customer_id: str, stored: dict[str, Any]
) -> None:
    with google_errors():
        current = records.customer_ref(client, customer_id).get().to_dict() or {}
    for kind in ("email", "phone"):
        key = stored[f"{kind}_key"]
        if current.get(f"{kind}_key") != key:
            uniqueness.release(client, kind, key, customer_id)


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

    reserved = _reserve_new(client, customer_id, current, changes, now)
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
    result = _commit_update(client, customer_id, changes, version, event, reserved)
    for kind in reserved:
        uniqueness.release(client, kind, current[f"{kind}_key"], customer_id)
    publish_committed([(events.TOPIC, event)])
    return _versioned(updated, result)


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


def _reserve_new(
    client: firestore.Client,
    customer_id: str,
    current: dict[str, Any],
    changes: dict[str, Any],
    now: datetime,
) -> list[uniqueness.Kind]:
    reserved: list[uniqueness.Kind] = []
    try:
        for kind in ("email", "phone"):
            key = changes.get(f"{kind}_key")
            if key is not None and key != current.get(f"{kind}_key"):
                uniqueness.reserve(client, kind, key, customer_id, now)
                reserved.append(kind)
    except ConflictError:
        for kind in reserved:
            uniqueness.release(client, kind, changes[f"{kind}_key"], customer_id)
        raise
    return reserved


def _commit_update(
    client: firestore.Client,
    customer_id: str,
    changes: dict[str, Any],
    version: Version,
    event: Any,
    reserved: list[uniqueness.Kind],
) -> datetime:
    from google.api_core.exceptions import FailedPrecondition

    batch = client.batch()
    option = client.write_option(last_update_time=version.update_time())
    batch.update(records.customer_ref(client, customer_id), changes, option=option)
    outbox().stage(batch, events.TOPIC, event)
    with google_errors():
        try:
            results = batch.commit()
        except FailedPrecondition as exc:
            for kind in reserved:
                key = changes[f"{kind}_key"]
                uniqueness.release(client, kind, key, customer_id)
            raise PreconditionFailedError(code="etag_mismatch") from exc
    update_time: datetime = results[0].update_time
    return update_time


def _versioned(stored: dict[str, Any], update_time: datetime) -> VersionedProfile:
    return VersionedProfile(records.profile(stored), Version.of(update_time))
