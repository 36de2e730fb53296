"""Outbox: domain events committed with the state they describe, then relayed.

A producer adds its events to the same Firestore ``WriteBatch`` as its domain
writes (``stage``), so that a state change and its events commit together or
not at all. After the commit it publishes them (``relay``). A process that
dies between the commit and the publish leaves its entries ``pending``; the
retry of the same request or provider event relays them again, and
``relay_pending`` sweeps those that nobody retries.

Delivery is at least once: an entry published just before a crash is
published again, with the same event id, and consumers dedupe by event id.
Each entry is a ``create()`` under the event id, so a retried batch that
stages the same event fails as a whole instead of writing it twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.errors import UnavailableError, google_errors
from common.events import EventEnvelope, EventPublisher
from common.logs import current_invocation, log_fields

if TYPE_CHECKING:
    from google.cloud import firestore

COLLECTION = "outbox"
PENDING = "pending"
PUBLISHED = "published"
# Kept well past any retry, for the BigQuery backfill; then a Firestore TTL
# policy on ``expire_at`` deletes it (firestore.indexes.json).
RETENTION = timedelta(days=30)
DEFAULT_SWEEP_AGE = timedelta(minutes=1)
DEFAULT_SWEEP_LIMIT = 100
DEFAULT_SWEEP_INTERVAL_S = 60.0
# The field of an invocation's log line that lists the events it published.
PUBLISHED_EVENTS_FIELD = "published_events"

_logger = logging.getLogger(__name__)


class Outbox:
    """Outbox entries in one Firestore collection, relayed to Pub/Sub."""

    def __init__(
        self,
        client: firestore.Client | None = None,
        publisher: EventPublisher | None = None,
        *,
        collection: str = COLLECTION,
    ) -> None:
        self._client = client
        self._publisher = publisher or EventPublisher()
        self._collection = collection
        self._sweep_lock = threading.Lock()
        self._next_sweep = 0.0
        self._marks = GroupCommit(self._commit_marks)

    def stage(
        self,
        batch: firestore.WriteBatch,
        topic: str,
        envelope: EventEnvelope,
        now: datetime | None = None,
    ) -> str:
        """Add the creation of an outbox entry to ``batch``; return the event id.

        The batch fails with ``AlreadyExists`` on commit when an entry with
        this event id exists: the change it belongs to was committed before.
        """
        now = now or datetime.now(UTC)
        batch.create(self._ref(envelope.event_id), _entry(topic, envelope, now))
        return envelope.event_id

    def relay(self, event_ids: Iterable[str], now: datetime | None = None) -> int:
        """Publish the entries among ``event_ids`` still pending; return how many.

        Raises:
            UnavailableError: Firestore or Pub/Sub failed; the entries not yet
                published stay pending for a retry or the sweep.
        """
        refs = [self._ref(event_id) for event_id in event_ids]
        if not refs:
            return 0

        with google_errors():
            snapshots = list(self._db().get_all(refs))
        pending = [s for s in snapshots if s.exists and _is_pending(s.to_dict())]
        for snapshot in pending:
            self._publish(snapshot, now or datetime.now(UTC))
        return len(pending)

    def relay_committed(
        self,
        topic: str,
        envelopes: Iterable[EventEnvelope],
        now: datetime | None = None,
    ) -> int:
        """Publish entries that the caller staged and has just committed.

        The same as ``relay`` for those ids, without reading the entries back:
        the caller knows they are pending, since its own commit created them.
        Returns how many were published.

        Raises:
            UnavailableError: as ``relay``; the rest stay pending.
        """
        published = 0
        for envelope in envelopes:
            self._publisher.publish(topic, envelope)
            # Concurrent relays share one write for their marks.
            self._marks.submit(envelope.event_id)
            _log_published(envelope, topic)
            published += 1
        return published

    def relay_pending(
        self,
        older_than: timedelta = DEFAULT_SWEEP_AGE,
        limit: int = DEFAULT_SWEEP_LIMIT,
        now: datetime | None = None,
    ) -> int:
        """Publish entries left pending for longer than ``older_than``.

        Returns how many were published. Raises UnavailableError as ``relay``.
        """
        from google.cloud.firestore_v1.base_query import FieldFilter

        now = now or datetime.now(UTC)
        query = (
            self._db()
            .collection(self._collection)
            .where(filter=FieldFilter("state", "==", PENDING))
            .where(filter=FieldFilter("created_at", "<", now - older_than))
            .order_by("created_at")
            .limit(limit)
        )
        with google_errors():
            snapshots = list(query.stream())
        for snapshot in snapshots:
            self._publish(snapshot, now)

        if snapshots:
            _logger.warning(
                "outbox entries swept", extra=log_fields(count=len(snapshots))
            )
        return len(snapshots)

    def sweep_if_due(self, interval_s: float = DEFAULT_SWEEP_INTERVAL_S) -> None:
        """Run ``relay_pending`` at most once per interval in this process.

        Producers call it after their own work, so entries that a crash left
        pending are published while the product has traffic. A failure is
        logged, not raised: the caller's own request has succeeded.
        """
        if not self._sweep_lock.acquire(blocking=False):
            return
        try:
            if time.monotonic() < self._next_sweep:
                return
            self._next_sweep = time.monotonic() + interval_s
            self.relay_pending()
        except UnavailableError as exc:
            _logger.warning("outbox sweep failed", extra=log_fields(code=exc.code))
        finally:
            self._sweep_lock.release()

    def _publish(
        self, snapshot: firestore.DocumentSnapshot[Any], now: datetime
    ) -> None:
        stored = snapshot.to_dict() or {}
        envelope = EventEnvelope.model_validate_json(stored["envelope"])
        self._publisher.publish(stored["topic"], envelope)
        self._mark_published(snapshot.reference, now)
        _log_published(envelope, stored["topic"])

    def _mark_published(
        self, ref: firestore.DocumentReference, now: datetime | None
    ) -> None:
        with google_errors():
            # A concurrent relay may have marked it first; both published the
            # same event id, which consumers dedupe.
            ref.update({"state": PUBLISHED, "published_at": now or datetime.now(UTC)})

    def _commit_marks(self, event_ids: list[str]) -> None:
        now = datetime.now(UTC)
        batch = self._db().batch()
        for event_id in event_ids:
            batch.update(self._ref(event_id), {"state": PUBLISHED, "published_at": now})
        with google_errors():
            batch.commit()

    def _ref(self, event_id: str) -> firestore.DocumentReference:
        return self._db().collection(self._collection).document(event_id)

    def _db(self) -> firestore.Client:
        if self._client is None:
            from common.clients import firestore_client

            self._client = firestore_client()
        return self._client


class GroupCommit:
    """Run the writes that concurrent threads submit together, in one commit.

    A thread that submits while no commit runs commits everything pending,
    its own item included; the others wait for the commit that carries
    theirs, and the next of them leads once it is done. Every submitter
    returns only when its item is written, or raises when that commit fails:
    the same guarantee as writing alone, for one write where there were as
    many as there were threads (Firestore takes 500 writes per batch). The
    Firestore emulator and production alike serve it: no transaction, plain
    batched updates.
    """

    def __init__(self, commit: Callable[[list[str]], None], limit: int = 500) -> None:
        self._commit = commit
        self._limit = limit
        self._condition = threading.Condition()
        self._pending: list[_Submission] = []
        self._committing = False

    def submit(self, item: str) -> None:
        """Write ``item`` with whatever else is pending.

        Raises:
            UnavailableError: the commit that carried it failed.
        """
        mine = _Submission(item)
        with self._condition:
            self._pending.append(mine)
        while not mine.done:
            with self._condition:
                while self._committing and not mine.done:
                    self._condition.wait()
                if mine.done:
                    break
                self._committing = True
                # Ours is in it, unless more than ``limit`` were ahead of it.
                group = self._pending[: self._limit]
                del self._pending[: self._limit]
            self._lead(group)

        if mine.failure is not None:
            # A fresh error per thread: they must not share one traceback.
            raise UnavailableError(code="outbox_mark_failed") from mine.failure

    def _lead(self, group: list[_Submission]) -> None:
        failure: Exception | None = None
        try:
            self._commit([submission.item for submission in group])
        except Exception as exc:
            failure = exc
        with self._condition:
            for submission in group:
                submission.done, submission.failure = True, failure
            self._committing = False
            self._condition.notify_all()


class _Submission:
    def __init__(self, item: str) -> None:
        self.item = item
        self.done = False
        self.failure: Exception | None = None


def _entry(topic: str, envelope: EventEnvelope, now: datetime) -> dict[str, Any]:
    return {
        "topic": topic,
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "subject": envelope.subject,
        "occurred_at": envelope.occurred_at,
        "envelope": envelope.model_dump_json(),
        "state": PENDING,
        "created_at": now,
        "published_at": None,
        "expire_at": now + RETENTION,
    }


def _log_published(envelope: EventEnvelope, topic: str) -> None:
    published = {
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "topic": topic,
    }
    current = current_invocation()
    if current is None:
        _logger.info("event published", extra=log_fields(**published))
        return
    # One line per invocation: its publishes ride on the invocation's line.
    current.append_field(PUBLISHED_EVENTS_FIELD, published)


def _is_pending(stored: dict[str, Any] | None) -> bool:
    return stored is not None and stored.get("state") == PENDING
