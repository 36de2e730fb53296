"""Idempotency: one execution per scope and key, recorded in Firestore.

A record moves ``in_progress`` -> ``completed`` (with the outcome to replay),
or is deleted by ``release`` after a failure the client should retry. An
``in_progress`` record whose lock has expired belongs to an attempt that
crashed; the next caller takes it over.

Every step is a single-document write with a precondition: ``create()`` for
the first claim, an update-time precondition for a takeover. The Firestore
emulator deadlocks on contended read-write transactions, and production does
not need them here.

An operation whose whole effect is one Firestore batch needs no claim: it
stages its record, completed, in that batch (``stage_completed``), so that
the record and the effect commit together or not at all. A concurrent or
repeated attempt then fails its own batch on the record's ``create()`` and
reads the outcome to replay (``stored_outcome``); an attempt whose answer is
a refusal that wrote nothing keeps it with ``keep_outcome``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.errors import (
    BadRequestError,
    IdempotencyKeyReusedError,
    InternalError,
    RequestInProgressError,
    google_errors,
)
from common.logs import log_fields

if TYPE_CHECKING:
    from google.cloud import firestore

DEFAULT_COLLECTION = "idempotency_keys"
DEFAULT_RETENTION = timedelta(days=7)
LOCK_MARGIN = timedelta(seconds=30)
MAX_KEY_LENGTH = 255
IN_PROGRESS = "in_progress"
COMPLETED = "completed"

# A record can vanish between a failed create() and the read that follows
# (another caller released it); a few rounds settle that race.
_MAX_ROUNDS = 3

_logger = logging.getLogger(__name__)


def payload_hash(payload: bytes) -> str:
    """Return the SHA-256 hex digest that identifies a request payload."""
    return hashlib.sha256(payload).hexdigest()


def document_id(scope: str, key: str) -> str:
    """Return the record's document id: a hash, since keys may contain ``/``."""
    digest = hashlib.sha256()
    for part in (scope, key):
        encoded = part.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()


@dataclass(frozen=True)
class IdempotencyRecord:
    """A claim on a key, as of the write that made it."""

    scope: str
    document_id: str
    update_time: datetime


@dataclass(frozen=True)
class Begun:
    """The result of ``begin``: a fresh claim, or the outcome to replay."""

    record: IdempotencyRecord
    outcome: dict[str, Any] | None = None

    @property
    def replayed(self) -> bool:
        """Whether an earlier execution completed and its outcome is replayed."""
        return self.outcome is not None


@dataclass(frozen=True)
class IdempotentRequest:
    """One request under a key, before anything about it is stored."""

    scope: str
    key: str
    payload_hash: str
    document_id: str


class IdempotencyStore:
    """Idempotency records in one Firestore collection."""

    def __init__(
        self,
        client: firestore.Client | None = None,
        *,
        collection: str = DEFAULT_COLLECTION,
        lock_ttl: timedelta | None = None,
        retention: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._client = client
        self._collection = collection
        self._lock_ttl = lock_ttl
        self._retention = retention

    def begin(
        self, scope: str, key: str, payload_hash: str, now: datetime | None = None
    ) -> Begun:
        """Claim a key, or return the outcome of its completed execution.

        Raises IdempotencyKeyReusedError for another payload under the key,
        RequestInProgressError while another attempt holds it, and
        UnavailableError when Firestore is unavailable.
        """
        _check_key(key)
        now = now or datetime.now(UTC)
        ref = self._ref(document_id(scope, key))

        with google_errors():
            for _ in range(_MAX_ROUNDS):
                begun = self._create(ref, scope, key, payload_hash, now)
                begun = begun or self._resolve(ref, scope, payload_hash, now)
                if begun is not None:
                    return begun
        raise RequestInProgressError()

    def complete(
        self,
        record: IdempotencyRecord,
        outcome: dict[str, Any],
        now: datetime | None = None,
    ) -> None:
        """Store the outcome to replay; a no-op if the claim was lost."""
        now = now or datetime.now(UTC)
        fields = {
            "state": COMPLETED,
            "outcome": json.dumps(outcome, separators=(",", ":")),
            "completed_at": now,
            "updated_at": now,
        }
        with google_errors():
            if not self._write_if_unchanged(record, fields):
                _logger.warning("idempotency claim lost", extra=_fields(record))

    def request(self, scope: str, key: str, payload_hash: str) -> IdempotentRequest:
        """Name a request under ``key`` for ``stage_completed``; no I/O.

        Raises:
            BadRequestError: the key is empty or too long.
        """
        _check_key(key)
        return IdempotentRequest(scope, key, payload_hash, document_id(scope, key))

    def stage_completed(
        self,
        batch: firestore.WriteBatch,
        request: IdempotentRequest,
        outcome: dict[str, Any],
        now: datetime | None = None,
    ) -> None:
        """Add the creation of the request's completed record to ``batch``.

        The batch then fails with ``AlreadyExists`` when the key has a record:
        ``stored_outcome`` tells whether that is why.
        """
        now = now or datetime.now(UTC)
        fields = self._completed_fields(request, outcome, now)
        batch.create(self._ref(request.document_id), fields)

    def stored_outcome(self, request: IdempotentRequest) -> dict[str, Any] | None:
        """Return the outcome the request's key holds, or None if it has none.

        Raises:
            IdempotencyKeyReusedError: the key holds another payload.
            RequestInProgressError: an attempt of ``begin`` holds the key.
            UnavailableError: Firestore is unavailable.
        """
        with google_errors():
            snapshot = self._ref(request.document_id).get()
        if not snapshot.exists:
            return None

        stored = snapshot.to_dict() or {}
        if stored.get("payload_hash") != request.payload_hash:
            raise IdempotencyKeyReusedError()
        if stored.get("state") != COMPLETED:
            raise RequestInProgressError()
        return _stored_outcome(stored)

    def keep_outcome(
        self,
        request: IdempotentRequest,
        outcome: dict[str, Any],
        now: datetime | None = None,
    ) -> dict[str, Any] | None:
        """Record ``outcome`` under the key unless it holds one already.

        Returns None when ``outcome`` was recorded, else the outcome the key
        kept, to replay instead.

        Raises:
            IdempotencyKeyReusedError, RequestInProgressError: as
                ``stored_outcome``.
            UnavailableError: Firestore is unavailable.
        """
        from google.api_core.exceptions import AlreadyExists

        now = now or datetime.now(UTC)
        fields = self._completed_fields(request, outcome, now)
        with google_errors():
            try:
                self._ref(request.document_id).create(fields)
            except AlreadyExists:
                # None if the record has gone since: ours is the answer then.
                return self.stored_outcome(request)
        return None

    def release(self, record: IdempotencyRecord) -> None:
        """Delete a claim so that the client's retry runs again."""
        with google_errors():
            if not self._write_if_unchanged(record, None):
                _logger.warning("idempotency claim lost", extra=_fields(record))

    def _create(
        self,
        ref: firestore.DocumentReference,
        scope: str,
        key: str,
        payload_hash: str,
        now: datetime,
    ) -> Begun | None:
        from google.api_core.exceptions import AlreadyExists

        fields = self._claim_fields(scope, key, payload_hash, now)
        try:
            result = ref.create(fields)
        except AlreadyExists:
            return None
        return Begun(IdempotencyRecord(scope, ref.id, result.update_time))

    def _claim_fields(
        self, scope: str, key: str, payload_hash: str, now: datetime
    ) -> dict[str, Any]:
        return {
            "scope": scope,
            "key": key,
            "state": IN_PROGRESS,
            "payload_hash": payload_hash,
            "attempts": 1,
            "locked_until": now + self._lock_duration(),
            "created_at": now,
            "updated_at": now,
            # Deleted by a Firestore TTL policy on this field.
            "expire_at": now + self._retention,
        }

    def _completed_fields(
        self, request: IdempotentRequest, outcome: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        return {
            "scope": request.scope,
            "key": request.key,
            "state": COMPLETED,
            "payload_hash": request.payload_hash,
            "attempts": 1,
            "outcome": json.dumps(outcome, separators=(",", ":")),
            "created_at": now,
            "completed_at": now,
            "updated_at": now,
            "expire_at": now + self._retention,
        }

    def _resolve(
        self,
        ref: firestore.DocumentReference,
        scope: str,
        payload_hash: str,
        now: datetime,
    ) -> Begun | None:
        snapshot = ref.get()
        if not snapshot.exists:
            return None

        stored = snapshot.to_dict() or {}
        record = IdempotencyRecord(scope, ref.id, snapshot.update_time)
        if stored.get("payload_hash") != payload_hash:
            raise IdempotencyKeyReusedError()
        if stored.get("state") == COMPLETED:
            return Begun(record, outcome=_stored_outcome(stored))
        if stored.get("locked_until", now) > now:
            raise RequestInProgressError()
        return self._take_over(record, int(stored.get("attempts", 1)), now)

    def _take_over(
        self, record: IdempotencyRecord, attempts: int, now: datetime
    ) -> Begun | None:
        from google.api_core.exceptions import FailedPrecondition, NotFound

        fields = {
            "state": IN_PROGRESS,
            "attempts": attempts + 1,
            "locked_until": now + self._lock_duration(),
            "updated_at": now,
        }
        ref = self._ref(record.document_id)
        option = self._db().write_option(last_update_time=record.update_time)
        try:
            result = ref.update(fields, option=option)
        except FailedPrecondition as exc:
            # Another caller took it over between our read and this write.
            raise RequestInProgressError() from exc
        except NotFound:
            return None

        _logger.info("idempotency claim taken over", extra=_fields(record))
        return Begun(IdempotencyRecord(record.scope, ref.id, result.update_time))

    def _write_if_unchanged(
        self, record: IdempotencyRecord, fields: dict[str, Any] | None
    ) -> bool:
        from google.api_core.exceptions import FailedPrecondition, NotFound

        ref = self._ref(record.document_id)
        option = self._db().write_option(last_update_time=record.update_time)
        try:
            if fields is None:
                ref.delete(option=option)
            else:
                ref.update(fields, option=option)
        except (FailedPrecondition, NotFound):
            return False
        return True

    def _lock_duration(self) -> timedelta:
        if self._lock_ttl is None:
            from common.settings import get_settings

            # No attempt outlives the function's timeout, so a lock that
            # lasts a little longer cannot expire under a live attempt.
            timeout = timedelta(seconds=get_settings().function_timeout_s)
            self._lock_ttl = timeout + LOCK_MARGIN
        return self._lock_ttl

    def _ref(self, doc_id: str) -> firestore.DocumentReference:
        return self._db().collection(self._collection).document(doc_id)

    def _db(self) -> firestore.Client:
        if self._client is None:
            from common.clients import firestore_client

            self._client = firestore_client()
        return self._client


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequestError(
            f"expected an idempotency key of 1 to {MAX_KEY_LENGTH} characters",
            code="invalid_idempotency_key",
        )


def _stored_outcome(stored: dict[str, Any]) -> dict[str, Any]:
    try:
        outcome = json.loads(stored["outcome"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InternalError(code="idempotency_record_corrupt") from exc
    if not isinstance(outcome, dict):
        raise InternalError(code="idempotency_record_corrupt")
    return outcome


def _fields(record: IdempotencyRecord) -> dict[str, dict[str, Any]]:
    return log_fields(scope=record.scope, idempotency_record=record.document_id)
