"""Unit tests of common.idempotency: hashes, document ids and key checks."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, cast

import pytest
from google.api_core import exceptions as api_exceptions

from common.errors import BadRequestError, UnavailableError
from common.idempotency import (
    MAX_KEY_LENGTH,
    Begun,
    IdempotencyRecord,
    IdempotencyStore,
    document_id,
    payload_hash,
)

pytestmark = pytest.mark.unit

LOCK_TTL = timedelta(seconds=90)


def test_payload_hash_is_sha256_hex() -> None:
    assert payload_hash(b'{"a":1}') == hashlib.sha256(b'{"a":1}').hexdigest()


def test_document_id_key_with_slash_is_a_safe_id() -> None:
    doc_id = document_id("customers.create", "users/123/../x")

    assert len(doc_id) == 64
    assert set(doc_id) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("ab", "c"), ("a", "bc")),
        (("customers.create", "k1"), ("webhooks.stripe", "k1")),
        (("s", "k1"), ("s", "k2")),
    ],
)
def test_document_id_different_scope_or_key_differs(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert document_id(*first) != document_id(*second)


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY_LENGTH + 1)])
def test_begin_bad_key_is_refused_before_firestore(key: str) -> None:
    store = IdempotencyStore(cast(Any, object()))

    with pytest.raises(BadRequestError) as caught:
        store.begin("customers.create", key, payload_hash(b""))

    assert caught.value.code == "invalid_idempotency_key"


def test_begun_with_outcome_is_a_replay() -> None:
    record = IdempotencyRecord("s", "d", cast(Any, None))

    assert Begun(record, outcome={"status": 201}).replayed is True
    assert Begun(record).replayed is False


class UnavailableFirestore:
    """A client whose every document write fails as a Firestore outage does."""

    def collection(self, name: str) -> UnavailableFirestore:
        return self

    def document(self, doc_id: str) -> UnavailableFirestore:
        return self

    def create(self, fields: dict[str, Any]) -> None:
        raise cast(Any, api_exceptions.ServiceUnavailable)("firestore down")


def test_begin_firestore_unavailable_is_retryable_unavailable() -> None:
    store = IdempotencyStore(cast(Any, UnavailableFirestore()), lock_ttl=LOCK_TTL)

    with pytest.raises(UnavailableError) as caught:
        store.begin("customers.create", "k1", payload_hash(b""))

    assert caught.value.retryable is True
    assert isinstance(caught.value.__cause__, api_exceptions.ServiceUnavailable)
