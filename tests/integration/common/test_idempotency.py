"""Integration tests of common.idempotency against the Firestore emulator."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore

from common.errors import (
    CrmError,
    IdempotencyKeyReusedError,
    RequestInProgressError,
)
from common.idempotency import (
    LOCK_MARGIN,
    Begun,
    IdempotencyStore,
    document_id,
    payload_hash,
)
from common.settings import reset_settings_cache

pytestmark = pytest.mark.integration

COLLECTION = "idempotency_keys"
SCOPE = "customers.create"
LOCK_TTL = timedelta(seconds=90)
HASH = payload_hash(b'{"given_name": "A"}')
OTHER_HASH = payload_hash(b'{"given_name": "B"}')
OUTCOME = {"status": 201, "headers": {"ETag": '"1"'}, "body": {"id": "cus_1"}}


@pytest.fixture
def store(firestore_client: firestore.Client) -> IdempotencyStore:
    return IdempotencyStore(firestore_client, collection=COLLECTION, lock_ttl=LOCK_TTL)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def stored(client: firestore.Client, key: str) -> dict[str, Any]:
    snapshot = client.collection(COLLECTION).document(document_id(SCOPE, key)).get()
    return snapshot.to_dict() or {}


def race(calls: Sequence[Callable[[], Begun]]) -> tuple[list[Begun], list[CrmError]]:
    """Run the calls at once from one thread each; sort results from errors."""
    barrier = threading.Barrier(len(calls))
    begun: list[Begun] = []
    errors: list[CrmError] = []

    def run(call: Callable[[], Begun]) -> None:
        barrier.wait()
        try:
            begun.append(call())
        except CrmError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return begun, errors


def test_begin_new_key_creates_in_progress_record(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    begun = store.begin(SCOPE, "key/with/slashes", HASH, now=now)

    record = stored(firestore_client, "key/with/slashes")
    assert begun.replayed is False
    assert begun.record.document_id == document_id(SCOPE, "key/with/slashes")
    assert record["state"] == "in_progress"
    assert record["payload_hash"] == HASH
    assert record["scope"] == SCOPE
    assert record["locked_until"] == now + LOCK_TTL
    assert record["created_at"] == now
    assert record["expire_at"] == now + timedelta(days=7)


def test_begin_concurrent_same_key_has_exactly_one_winner(
    store: IdempotencyStore, firestore_client: firestore.Client
) -> None:
    calls = [lambda: store.begin(SCOPE, "k-race", HASH) for _ in range(8)]

    begun, errors = race(calls)

    assert len(begun) == 1
    assert begun[0].replayed is False
    assert len(errors) == 7
    assert all(isinstance(error, RequestInProgressError) for error in errors)
    assert all(error.retryable for error in errors)
    assert stored(firestore_client, "k-race")["attempts"] == 1


def test_begin_while_in_progress_is_refused_as_retryable(
    store: IdempotencyStore, now: datetime
) -> None:
    store.begin(SCOPE, "k1", HASH, now=now)

    with pytest.raises(RequestInProgressError) as caught:
        store.begin(SCOPE, "k1", HASH, now=now + timedelta(seconds=5))

    assert caught.value.http_status == 409


def test_begin_after_complete_replays_the_outcome(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    first = store.begin(SCOPE, "k1", HASH, now=now)
    store.complete(first.record, OUTCOME, now=now)

    again = store.begin(SCOPE, "k1", HASH, now=now + timedelta(hours=1))

    assert again.replayed is True
    assert again.outcome == OUTCOME
    assert stored(firestore_client, "k1")["state"] == "completed"


@pytest.mark.parametrize("completed", [False, True])
def test_begin_reused_key_with_other_payload_is_refused(
    store: IdempotencyStore, now: datetime, completed: bool
) -> None:
    first = store.begin(SCOPE, "k1", HASH, now=now)
    if completed:
        store.complete(first.record, OUTCOME, now=now)

    with pytest.raises(IdempotencyKeyReusedError) as caught:
        store.begin(SCOPE, "k1", OTHER_HASH, now=now)

    assert caught.value.http_status == 422
    assert caught.value.code == "idempotency_key_reused"


def test_begin_same_key_in_other_scope_is_independent(
    store: IdempotencyStore, now: datetime
) -> None:
    store.begin(SCOPE, "k1", HASH, now=now)

    begun = store.begin("webhooks.stripe", "k1", OTHER_HASH, now=now)

    assert begun.replayed is False


def test_begin_after_lock_expiry_takes_over_with_one_winner(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    crashed_at = now - timedelta(hours=1)
    for round_number in range(5):
        key = f"k-takeover-{round_number}"
        store.begin(SCOPE, key, HASH, now=crashed_at)
        call = functools.partial(store.begin, SCOPE, key, HASH, now=now)

        begun, errors = race([call, call])

        assert len(begun) == 1, f"round {round_number}"
        assert [type(error) for error in errors] == [RequestInProgressError]
        record = stored(firestore_client, key)
        assert record["attempts"] == 2
        assert record["locked_until"] == now + LOCK_TTL


def test_complete_by_crashed_attempt_after_takeover_changes_nothing(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    crashed = store.begin(SCOPE, "k1", HASH, now=now - timedelta(hours=1))
    store.begin(SCOPE, "k1", HASH, now=now)

    store.complete(crashed.record, OUTCOME, now=now)
    store.release(crashed.record)

    record = stored(firestore_client, "k1")
    assert record["state"] == "in_progress"
    assert "outcome" not in record


def test_release_then_begin_claims_the_key_again(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    first = store.begin(SCOPE, "k1", HASH, now=now)

    store.release(first.record)
    assert stored(firestore_client, "k1") == {}
    again = store.begin(SCOPE, "k1", OTHER_HASH, now=now)

    assert again.replayed is False
    assert stored(firestore_client, "k1")["payload_hash"] == OTHER_HASH


@pytest.fixture
def short_function_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CLOUD_RUN_TIMEOUT_SECONDS", "10")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.mark.usefixtures("short_function_timeout")
def test_begin_default_lock_lasts_function_timeout_plus_margin(
    firestore_client: firestore.Client, now: datetime
) -> None:
    store = IdempotencyStore(firestore_client, collection=COLLECTION)

    store.begin(SCOPE, "k1", HASH, now=now)

    expected = now + timedelta(seconds=10) + LOCK_MARGIN
    assert stored(firestore_client, "k1")["locked_until"] == expected


def test_stage_completed_commits_with_the_batch_and_is_read_back(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    request = store.request(SCOPE, "key-staged", HASH)
    assert store.stored_outcome(request) is None

    batch = firestore_client.batch()
    store.stage_completed(batch, request, OUTCOME, now)
    batch.create(firestore_client.collection("effects").document("e1"), {"n": 1})
    batch.commit()

    assert store.stored_outcome(request) == OUTCOME
    record = stored(firestore_client, "key-staged")
    assert record["state"] == "completed"
    assert record["expire_at"] > now


def test_stage_completed_twice_fails_the_second_batch_whole(
    store: IdempotencyStore, firestore_client: firestore.Client
) -> None:
    from google.api_core.exceptions import AlreadyExists

    request = store.request(SCOPE, "key-twice", HASH)
    effects = firestore_client.collection("effects")
    first = firestore_client.batch()
    store.stage_completed(first, request, OUTCOME)
    first.commit()

    second = firestore_client.batch()
    store.stage_completed(second, request, {"status": 500})
    second.create(effects.document("e2"), {"n": 2})
    with pytest.raises(AlreadyExists):
        second.commit()

    assert not effects.document("e2").get().exists
    assert store.stored_outcome(request) == OUTCOME


def test_stored_outcome_other_payload_is_reused_and_claim_is_in_progress(
    store: IdempotencyStore, firestore_client: firestore.Client, now: datetime
) -> None:
    batch = firestore_client.batch()
    store.stage_completed(batch, store.request(SCOPE, "key-r", HASH), OUTCOME)
    batch.commit()
    store.begin(SCOPE, "key-claimed", HASH, now)

    with pytest.raises(IdempotencyKeyReusedError):
        store.stored_outcome(store.request(SCOPE, "key-r", OTHER_HASH))
    with pytest.raises(RequestInProgressError):
        store.stored_outcome(store.request(SCOPE, "key-claimed", HASH))


def test_keep_outcome_records_once_then_returns_the_kept_one(
    store: IdempotencyStore,
) -> None:
    request = store.request(SCOPE, "key-kept", HASH)
    refused = {"status": 409, "headers": {}, "body": "{}"}

    assert store.keep_outcome(request, refused) is None
    assert store.keep_outcome(request, {"status": 201}) == refused
    with pytest.raises(IdempotencyKeyReusedError):
        store.keep_outcome(store.request(SCOPE, "key-kept", OTHER_HASH), refused)


def test_request_with_invalid_key_is_refused(store: IdempotencyStore) -> None:
    with pytest.raises(CrmError) as raised:
        store.request(SCOPE, "k" * 256, HASH)

    assert raised.value.code == "invalid_idempotency_key"
