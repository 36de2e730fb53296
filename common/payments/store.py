"""Store: provider events recorded once, and the payments derived from them.

Collections: ``payment_provider_events`` (one document per provider event,
with its raw payload) and ``payments`` (one per payment, read by
``listing.py``). A payment document keeps the facts of all its recorded
events in ``facts_json``, and its state is recomputed from them on each
event. Facts are kept as one JSON string rather than nested maps: nobody
queries inside them, and encoding dozens of nested Firestore values on
every write was the larger part of the function's CPU time.

One provider event is one Firestore batch: the event's record (``create``,
so a redelivery fails it), the payment (``create`` for a new one, else an
``update`` preconditioned on the update time that was read) and, when the
payment changed, its outbox entry. Either all of it commits or none does.

Why no transaction: the Firestore emulator deadlocks on read-write
transactions that contend on one document (EMULATORS.md), and concurrent
deliveries for one payment are exactly that. The preconditions give the
same guarantee optimistically: of two deliveries that read the same payment,
one commits and the other fails its precondition, reads again (now with the
winner's fact) and recomputes, so they converge on the state of both facts.
This holds because every batch writes the payment document, even when its
state does not change, so any concurrent fact moves its update time.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from pydantic import TypeAdapter

from common.clients import request_retry
from common.errors import PayloadTooLargeError, UnavailableError, google_errors
from common.events import EventEnvelope, new_event
from common.idempotency import document_id
from common.logs import log_fields
from common.outbox import Outbox
from common.payments import listing
from common.payments.events import STATUS_EVENT_TYPES, TOPIC, PaymentChangedData
from common.payments.facts import PaymentFact, ProviderEvent
from common.payments.state import PaymentState, derive_payment

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.cloud import firestore

EVENTS_COLLECTION: Final = "payment_provider_events"
PAYMENTS_COLLECTION: Final = listing.COLLECTION
# Raw payloads above this are kept deflated, so that a 1 MiB body still fits
# Firestore's 1 MiB document limit with its other fields.
COMPRESS_ABOVE: Final = 256 * 1024
# What a record's raw payload may take once deflated, leaving room for the
# other fields under the 1 MiB limit.
MAX_STORED_RAW: Final = 1000 * 1024
MAX_ATTEMPTS: Final = 8
_STATE_FIELDS: Final = (
    "customer_id",
    "amount_minor",
    "currency",
    "status",
    "refunded_minor",
    "disputed",
)

# Every fact of one payment, by the id of the event record it came from.
_FACTS: Final = TypeAdapter(dict[str, PaymentFact])

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordOutcome:
    """What recording one provider event did."""

    duplicate: bool
    payment_key: str | None = None
    published_type: str | None = None


class _ConflictError(Exception):
    """Another writer changed the payment between our read and our commit."""


class _AlreadyRecordedError(Exception):
    """The provider event's record exists: another delivery committed it."""


def event_document_id(event: ProviderEvent) -> str:
    """Return the id of a provider event's record: a hash of scope and key."""
    return document_id(event.scope, event.event_key)


def payment_document_id(key: str) -> str:
    """Return the id of a payment's document: a hash, as keys may hold ``/``."""
    return document_id("payment", key)


def outbox_event_id(payment: str, record_id: str) -> str:
    """Return the domain event id of one provider event's change to a payment.

    Deterministic, so that a retried delivery names the same event.
    """
    digest = hashlib.sha256(f"{payment}\n{record_id}".encode())
    return "pay_" + digest.hexdigest()[:40]


class PaymentLedger:
    """Records provider events and keeps the payments they describe."""

    def __init__(
        self,
        client: firestore.Client | None = None,
        outbox: Outbox | None = None,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._client = client
        self._outbox = outbox
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts

    def record(
        self, event: ProviderEvent, now: datetime | None = None
    ) -> RecordOutcome:
        """Record one provider event once, and apply it to its payment.

        Raises:
            UnavailableError: Firestore or Pub/Sub did not answer, or the
                payment stayed contended; nothing is lost, and the provider's
                retry completes the work.
        """
        now = now or datetime.now(UTC)
        if event.fact is None:
            return self._record_alone(event, now)

        with google_errors():
            for attempt in range(self._max_attempts):
                try:
                    return self._record_with_payment(event, event.fact, now)
                except _ConflictError:
                    _pause(attempt)
        _logger.warning(
            "payment contended", extra=log_fields(payment_key=event.fact.payment_key)
        )
        raise UnavailableError(code="payment_contended")

    def sweep_outbox(self) -> None:
        """Publish, at most once a minute, events that a crash left pending."""
        self._outbox_().sweep_if_due()

    def _record_alone(self, event: ProviderEvent, now: datetime) -> RecordOutcome:
        from google.api_core.exceptions import AlreadyExists

        ref = (
            self._db().collection(EVENTS_COLLECTION).document(event_document_id(event))
        )
        with google_errors():
            try:
                ref.create(
                    _record_fields(event, None, None, now),
                    retry=self._retry(),
                    timeout=self._timeout_s,
                )
            except AlreadyExists:
                return RecordOutcome(duplicate=True)
        return RecordOutcome(duplicate=False)

    def _record_with_payment(
        self, event: ProviderEvent, fact: PaymentFact, now: datetime
    ) -> RecordOutcome:
        record_id = event_document_id(event)
        ref = self._payment_ref(fact.payment_key)
        snapshot = ref.get(retry=self._retry(), timeout=self._timeout_s)
        stored = snapshot.to_dict() if snapshot.exists else None

        facts = _stored_facts(stored)
        if record_id in facts:
            return self._duplicate(fact.payment_key, record_id)

        facts[record_id] = fact
        state = derive_payment(facts.values())
        changed = stored is None or _state_changed(stored, state)
        envelope = self._envelope(event, state, stored, now) if changed else None
        try:
            self._commit(event, snapshot, facts, state, envelope, now)
        except _AlreadyRecordedError:
            return self._duplicate(fact.payment_key, record_id)

        if envelope is None:
            return RecordOutcome(duplicate=False, payment_key=state.payment_key)
        self._outbox_().relay_committed(TOPIC, [envelope], now)
        return RecordOutcome(
            duplicate=False,
            payment_key=state.payment_key,
            published_type=envelope.event_type,
        )

    def _duplicate(self, payment: str, record_id: str) -> RecordOutcome:
        # The first delivery may have died between its commit and its
        # publish: relaying again publishes what it left pending, if anything.
        self._outbox_().relay([outbox_event_id(payment, record_id)])
        return RecordOutcome(duplicate=True, payment_key=payment)

    def _commit(
        self,
        event: ProviderEvent,
        snapshot: firestore.DocumentSnapshot[Any],
        facts: dict[str, PaymentFact],
        state: PaymentState,
        envelope: EventEnvelope | None,
        now: datetime,
    ) -> None:
        from google.api_core.exceptions import (
            AlreadyExists,
            FailedPrecondition,
            NotFound,
        )

        db = self._db()
        batch = db.batch()
        record_ref = db.collection(EVENTS_COLLECTION).document(event_document_id(event))
        event_id = envelope.event_id if envelope else None
        batch.create(
            record_ref, _record_fields(event, state.payment_key, event_id, now)
        )

        fields = _payment_fields(state, facts, envelope, now)
        if snapshot.exists:
            option = db.write_option(last_update_time=snapshot.update_time)
            batch.update(snapshot.reference, fields, option=option)
        else:
            batch.create(
                snapshot.reference, {**fields, "settlement": None, "created_at": now}
            )
        if envelope is not None:
            self._outbox_().stage(batch, TOPIC, envelope, now)

        try:
            batch.commit(retry=self._retry(), timeout=self._timeout_s)
        except AlreadyExists as exc:
            # The record or the new payment exists. If it is the record, the
            # event was committed by a concurrent delivery, perhaps before a
            # fact could be read from it: it is recorded either way.
            if record_ref.get(retry=self._retry(), timeout=self._timeout_s).exists:
                raise _AlreadyRecordedError from exc
            raise _ConflictError from exc
        except (FailedPrecondition, NotFound) as exc:
            raise _ConflictError from exc

    def _envelope(
        self,
        event: ProviderEvent,
        state: PaymentState,
        stored: dict[str, Any] | None,
        now: datetime,
    ) -> EventEnvelope:
        updated_at = _next_updated_at(stored, now)
        data = PaymentChangedData(
            payment_key=state.payment_key,
            provider=state.provider,
            provider_reference=state.provider_reference,
            customer_id=state.customer_id,
            amount_minor=state.amount_minor,
            currency=state.currency,
            status=state.status,
            refunded_minor=state.refunded_minor,
            disputed=state.disputed,
            provider_event_id=event.event_key,
            provider_event_type=event.event_type,
            updated_at=updated_at,
        )
        return new_event(
            STATUS_EVENT_TYPES[state.status],
            state.payment_key,
            data.model_dump(mode="json"),
            event_id=outbox_event_id(state.payment_key, event_document_id(event)),
            occurred_at=updated_at,
        )

    def _payment_ref(self, key: str) -> firestore.DocumentReference:
        return (
            self._db()
            .collection(PAYMENTS_COLLECTION)
            .document(payment_document_id(key))
        )

    def _retry(self) -> Retry:
        return request_retry(self._timeout_s)

    def _outbox_(self) -> Outbox:
        if self._outbox is None:
            self._outbox = Outbox(self._db())
        return self._outbox

    def _db(self) -> firestore.Client:
        if self._client is None:
            from common.clients import firestore_client

            self._client = firestore_client()
        return self._client


def _stored_facts(stored: dict[str, Any] | None) -> dict[str, PaymentFact]:
    raw = (stored or {}).get("facts_json")
    return _FACTS.validate_json(raw) if raw else {}


def _state_changed(stored: dict[str, Any], state: PaymentState) -> bool:
    current = state.model_dump()
    return any(stored.get(name) != current[name] for name in _STATE_FIELDS)


def _next_updated_at(stored: dict[str, Any] | None, now: datetime) -> datetime:
    # Strictly increasing per payment, so that a consumer keeping the latest
    # state by updated_at alone never keeps an older one, whatever the
    # clocks of two instances say. Firestore keeps microseconds.
    previous = (stored or {}).get("updated_at")
    if isinstance(previous, datetime) and previous >= now:
        return previous + timedelta(microseconds=1)
    return now


def _payment_fields(
    state: PaymentState,
    facts: dict[str, PaymentFact],
    envelope: EventEnvelope | None,
    now: datetime,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "payment_key": state.payment_key,
        "provider": state.provider,
        "provider_reference": state.provider_reference,
        "customer_id": state.customer_id,
        "amount_minor": state.amount_minor,
        "amount_known": state.amount_known,
        "currency": state.currency,
        "status": state.status,
        "refunded_minor": state.refunded_minor,
        "disputed": state.disputed,
        "facts_json": _FACTS.dump_json(facts).decode(),
        "fact_count": len(facts),
        "recorded_at": now,
    }
    if envelope is not None:
        fields["updated_at"] = envelope.occurred_at
        fields["last_event_id"] = envelope.event_id
    return fields


def _record_fields(
    event: ProviderEvent,
    payment: str | None,
    event_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    raw, encoding = event.raw, "identity"
    if len(raw) > COMPRESS_ABOVE:
        raw, encoding = zlib.compress(raw, 6), "deflate"
    if len(raw) > MAX_STORED_RAW:
        # Refused before anything is written, rather than failing the commit.
        raise PayloadTooLargeError("expected a payload that can be stored")
    return {
        "scope": event.scope,
        "event_key": event.event_key,
        "event_type": event.event_type,
        "payment_key": payment,
        "fact_json": event.fact.model_dump_json() if event.fact else None,
        "fact_error": event.fact_error,
        "published_event_id": event_id,
        "raw": raw,
        "raw_encoding": encoding,
        "raw_sha256": hashlib.sha256(event.raw).hexdigest(),
        "raw_size": len(event.raw),
        "received_at": now,
    }


def _pause(attempt: int) -> None:
    # Jittered, so that two contending deliveries do not retry in lockstep.
    time.sleep(random.uniform(0, 0.01 * 2**attempt))  # noqa: S311
