"""API: the customer endpoints, from a verified caller to an HTTP answer.

Each handler checks who may call it, validates the body into a model, calls
one operation of profiles.py or documents.py and shapes the answer. Another
customer's id answers 404, never 403, so that ids cannot be probed; a caller
who may see the customer but not do this (staff on an owner's action, an
owner on a staff action) gets 403.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

import flask
import pydantic

from common.auth import Caller
from common.customers import documents, profiles
from common.customers.models import (
    CustomerCreate,
    CustomerProfile,
    CustomerUpdate,
    DocumentAnnouncement,
    DocumentList,
    KycDecision,
    KycDecisionResult,
    PaymentList,
)
from common.errors import (
    BadRequestError,
    CrmError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    validation_error_from_pydantic,
)
from common.httpapi import model_response, read_json_body, required_version
from common.idempotency import IdempotencyStore, IdempotentRequest
from common.logs import current_invocation
from common.problems import problem_response

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
CREATE_SCOPE: Final = "customers.create"
# Headers of a first answer that a replay repeats.
REPLAYED_HEADERS: Final = ("Content-Type", "ETag", "Location")

if TYPE_CHECKING:
    from google.cloud import firestore

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
Handler = Callable[[flask.Request, Caller, str], flask.Response]


def create_customer(request: flask.Request, caller: Caller) -> flask.Response:
    """`POST /v1/customers`: the caller's profile, once per idempotency key.

    The key's record commits in the profile's own batch: a new customer costs
    one commit, and a repeated or concurrent attempt fails that batch on the
    record and replays the answer it holds.
    """
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        raise BadRequestError(
            f"The {IDEMPOTENCY_HEADER} header is required.",
            code="idempotency_key_required",
        )
    raw = read_json_body(request)
    body = _validated(CustomerCreate, raw)

    store = IdempotencyStore()
    attempt = store.request(f"{CREATE_SCOPE}:{caller.uid}", key, _payload_hash(raw))
    record = _CreationRecord(store, attempt)
    try:
        created = profiles.create_profile(
            _db(), caller.uid, body, attempt.document_id, _now(), record
        )
    except CrmError as exc:
        # The key holds another request's body: its outcome is not ours.
        reused = isinstance(exc, IdempotencyKeyReusedError)
        if exc.retryable or exc.http_status >= 500 or reused:
            raise
        # A definite answer (409) that wrote nothing is the key's outcome too.
        refused = problem_response(exc, instance=request.path)
        kept = store.keep_outcome(attempt, _outcome(refused))
        return refused if kept is None else _replay(kept, caller.uid)

    if isinstance(created, profiles.Replay):
        return _replay(created.outcome, caller.uid)
    return _created_response(created.profile, created.version.etag)


class _CreationRecord:
    """The key's record, completed with the 201 it answers, in the batch."""

    def __init__(self, store: IdempotencyStore, attempt: IdempotentRequest) -> None:
        self._store = store
        self._attempt = attempt

    def stage(self, batch: firestore.WriteBatch, profile: CustomerProfile) -> None:
        # Without its ETag, which is the commit's time: a replay reads it
        # back as the profile's create time.
        outcome = _outcome(_created_response(profile, None))
        self._store.stage_completed(batch, self._attempt, outcome)

    def stored(self) -> dict[str, Any] | None:
        return self._store.stored_outcome(self._attempt)


def _created_response(profile: CustomerProfile, etag: str | None) -> flask.Response:
    headers = {"Location": f"/v1/customers/{profile.id}"}
    if etag is not None:
        headers["ETag"] = etag
    return model_response(201, profile, headers)


def get_customer(
    request: flask.Request, caller: Caller, customer_id: str
) -> flask.Response:
    """`GET /v1/customers/{id}`: the profile, for its owner or staff."""
    _require_reader(caller, customer_id)
    found = profiles.read_profile(_db(), customer_id)
    return model_response(200, found.profile, {"ETag": found.version.etag})


def update_customer(
    request: flask.Request, caller: Caller, customer_id: str
) -> flask.Response:
    """`PATCH /v1/customers/{id}`: contact fields, if the ETag still holds."""
    _require_owner(caller, customer_id)
    version = required_version(request)
    body = _validated(CustomerUpdate, read_json_body(request))

    written = profiles.update_profile(
        _db(), customer_id, body, version, _request_id(), _now()
    )
    return model_response(200, written.profile, {"ETag": written.version.etag})


def announce_document(
    request: flask.Request, caller: Caller, customer_id: str
) -> flask.Response:
    """`POST /v1/customers/{id}/documents`: a document and its upload URL."""
    _require_owner(caller, customer_id)
    body = _validated(DocumentAnnouncement, read_json_body(request))

    upload = documents.announce_document(
        _db(), customer_id, body, _request_id(), _now()
    )
    location = f"/v1/customers/{customer_id}/documents/{upload.document_id}"
    return model_response(201, upload, {"Location": location})


def list_documents(
    request: flask.Request, caller: Caller, customer_id: str
) -> flask.Response:
    """`GET /v1/customers/{id}/documents`: documents and their check results."""
    _require_reader(caller, customer_id)
    found = documents.list_documents(_db(), customer_id)
    return model_response(200, DocumentList(documents=found))


def list_payments(
    request: flask.Request, caller: Caller, customer_id: str
) -> flask.Response:
    """`GET /v1/customers/{id}/payments`: the customer's payments, newest first."""
    from common.payments.listing import list_customer_payments

    _require_reader(caller, customer_id)
    profiles.read_profile(_db(), customer_id)
    found = list_customer_payments(_db(), customer_id)
    return model_response(200, PaymentList(payments=found))


def decide_kyc(
    request: flask.Request, caller: Caller, customer_id: str
) -> flask.Response:
    """`POST /v1/customers/{id}/kyc-decisions` (staff): decide a reviewed document."""
    _require_staff(caller, customer_id)
    body = _validated(KycDecision, read_json_body(request))

    decided = documents.decide_document(_db(), customer_id, body, _request_id(), _now())
    result = KycDecisionResult.model_validate(
        {"document": decided.document, "customer_status": decided.customer_status}
    )
    return model_response(200, result)


def _require_reader(caller: Caller, customer_id: str) -> None:
    if caller.uid != customer_id and not caller.staff:
        raise profiles.customer_not_found()


def _require_owner(caller: Caller, customer_id: str) -> None:
    if caller.uid == customer_id:
        return
    if caller.staff:
        raise ForbiddenError("Only the customer may do this.", code="owner_only")
    raise profiles.customer_not_found()


def _require_staff(caller: Caller, customer_id: str) -> None:
    if caller.staff:
        return
    if caller.uid == customer_id:
        raise ForbiddenError("Only staff may do this.", code="staff_only")
    raise profiles.customer_not_found()


def _validated(model: type[ModelT], raw: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise validation_error_from_pydantic(exc) from exc


def _payload_hash(raw: dict[str, Any]) -> str:
    # The parsed body, so that a client re-serialising the same JSON with
    # other spacing or member order is still sending the same request.
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _outcome(response: flask.Response) -> dict[str, Any]:
    return {
        "status": response.status_code,
        "body": response.get_data(as_text=True),
        "headers": {
            name: response.headers[name]
            for name in REPLAYED_HEADERS
            if name in response.headers
        },
    }


def _replay(outcome: dict[str, Any], uid: str) -> flask.Response:
    headers = dict(outcome.get("headers", {})) | {REPLAYED_HEADER: "true"}
    status = int(outcome["status"])
    if status == 201 and "ETag" not in headers:
        etag = profiles.created_etag(_db(), uid)
        if etag is not None:
            headers["ETag"] = etag
    return flask.Response(outcome.get("body", ""), status=status, headers=headers)


def _request_id() -> str:
    invocation = current_invocation()
    return invocation.execution_id if invocation is not None else "unknown"


def _db() -> Any:
    from common.clients import firestore_client

    return firestore_client()


def _now() -> datetime:
    return datetime.now(UTC)
