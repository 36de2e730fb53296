"""Floors: bare handlers making only the calls a function's contract requires.

A throughput ratio against the one-write bare handler mixes two things: the
Google calls that any implementation of the issue must make per request, and
what this product spends around them. A floor handler makes exactly those
calls, with no product code at all (no verification, parsing, validation,
logging or outbox), served as the function is. What it reaches against the
bare handler is the most that any implementation can reach on this machine;
what the function reaches against the floor is what the product's own code
costs.

- Webhook: a provider event is recorded before the 2xx and its payment's
  state is a function of every event received, so the handler reads the
  payment, commits the event's record with the payment in one batch, and
  publishes the payment's event. The benchmark's events each start a new
  payment, where the read finds nothing; a handler could skip it by trying
  a create first, but every later event of a payment, most of a real
  lifecycle, would then pay a failed commit before its read.
- Customer GET: the ID token is verified with the revocation look-up
  (``check_revoked``), then the profile is read.
- Customer POST: the same verification, then one batch creating the
  profile, its e-mail and phone reservations and the idempotency record,
  then the ``customer.profile.created`` publish.

Each handler is the source of a module whose function is ``bare``.
"""

from __future__ import annotations

from typing import Final

from common.clients import PUBLISH_MAX_LATENCY_S

_PUBLISHER = f"""\
_publisher = pubsub_v1.PublisherClient(
    batch_settings=pubsub_v1.types.BatchSettings(
        max_latency={PUBLISH_MAX_LATENCY_S!r}
    )
)
"""

WEBHOOK_FLOOR: Final = f"""\
import os
import uuid

import functions_framework
from google.cloud import firestore, pubsub_v1

_client = firestore.Client()
{_PUBLISHER}
_topic = _publisher.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], "payment-events")


@functions_framework.http
def bare(request):
    body = request.get_data()
    key = uuid.uuid4().hex
    payment = _client.collection("bench_floor_payments").document(key)
    payment.get()
    batch = _client.batch()
    record = _client.collection("bench_floor_events").document(key)
    batch.create(record, {{"raw": body}})
    batch.create(payment, {{"status": "succeeded", "amount_minor": 1}})
    batch.commit()
    _publisher.publish(_topic, b"{{}}").result()
    return ("", 200)
"""

_VERIFY = """\
import os
import uuid

import firebase_admin
import functions_framework
from firebase_admin import auth
from google.cloud import firestore, pubsub_v1

_client = firestore.Client()
_app = firebase_admin.initialize_app(
    options={"projectId": os.environ["GOOGLE_CLOUD_PROJECT"]}
)


def _uid(request):
    token = request.headers["Authorization"].partition(" ")[2]
    return auth.verify_id_token(token, app=_app, check_revoked=True)["uid"]
"""

CUSTOMER_GET_FLOOR: Final = f"""\
{_VERIFY}

@functions_framework.http
def bare(request):
    _client.collection("customers").document(_uid(request)).get()
    return ("", 200)
"""

CUSTOMER_POST_FLOOR: Final = f"""\
{_VERIFY}
{_PUBLISHER}
_topic = _publisher.topic_path(os.environ["GOOGLE_CLOUD_PROJECT"], "customer-events")


@functions_framework.http
def bare(request):
    body = request.get_data()
    _uid(request)
    key = uuid.uuid4().hex
    batch = _client.batch()
    profile = _client.collection("bench_floor_profiles").document(key)
    batch.create(profile, {{"raw": body}})
    for kind in ("email", "phone"):
        reservation = _client.collection("bench_floor_reservations").document(
            kind + key
        )
        batch.create(reservation, {{"customer_id": key}})
    record = _client.collection("bench_floor_idempotency").document(key)
    batch.create(record, {{"status": 201}})
    batch.commit()
    _publisher.publish(_topic, b"{{}}").result()
    return ("", 201)
"""
