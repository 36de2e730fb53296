"""The demo: drive a scenario through the running platform and show the stores."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from emulators.config import DATASET, PlatformConfig
from emulators.demo_analytics import show_analytics
from emulators.demo_customers import run_customer_step
from emulators.demo_payments import run_payment_step
from emulators.platform import Platform

SETTLEMENT_SAMPLE = (
    "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,"
    "reporting_category,source_id,payment_intent_id,customer_id\n"
    "txn_demo_1,2026-12-01 10:00:00,2026-12-03 00:00:00,eur,25.00,0.63,24.37,"
    "charge,ch_demo_1,pi_demo_1,demo-customer\n"
)
# Steps of the PRODUCT.md scenario whose functions are not in triggers/ yet.
PENDING_STEPS = (
    ("kyc_documents", "KYC checks the uploaded passport and decides"),
    ("payment_webhooks", "the customer pays with Stripe, refunded partly then fully"),
    ("settlement_files", "the settlement file is ingested and reconciled"),
    ("bigquery_loader_payment_events", "every event lands in BigQuery's views"),
)


def run_demo(config: PlatformConfig | None = None) -> int:
    """Drive the scenario against the platform at `config`'s ports."""
    platform = Platform(config or PlatformConfig())
    with _environment(platform):
        print("CRM-AID demo on", os.environ["CRM_API_URL"])
        customer = run_customer_step(platform.config)
        _pending_steps(platform)
        run_payment_step(platform, customer.uid, customer.headers())
        _dead_letter_step(platform)
        _settlement_file_step(platform)
        print()
        _show_stores(platform)
        show_analytics(platform)
    return 0


def _pending_steps(platform: Platform) -> None:
    served = {function.name for function in platform.functions}
    for name, step in PENDING_STEPS:
        state = "runs" if name in served else "skipped, function not built yet"
        print(f"- {step}: {state} ({name})")


def _dead_letter_step(platform: Platform) -> None:
    from google.cloud import pubsub_v1

    print("- an event that exhausted its retries reaches dead-letters")
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(platform.config.project_id, "dead-letters")
    event_id, event_type = uuid.uuid4().hex, "payment.charge.succeeded"
    envelope = {
        "event_id": event_id,
        "event_type": event_type,
        "occurred_at": "2026-12-01T10:00:00Z",
        "schema_version": 1,
        "subject": "demo-payment",
        "data": {},
    }
    message_id = publisher.publish(
        topic,
        json.dumps(envelope).encode(),
        event_type=event_type,
        event_id=event_id,
        schema_version="1",
        CloudPubSubDeadLetterSourceSubscription="eventarc-demo",
        CloudPubSubDeadLetterSourceDeliveryCount="5",
    ).result(timeout=30)
    _wait_for_document("dead_letters", message_id)


def _settlement_file_step(platform: Platform) -> None:
    from common.clients import storage_client

    print("- a Stripe settlement report lands in payment-files")
    bucket = storage_client().bucket(f"{platform.config.project_id}-payment-files")
    blob = bucket.blob(f"settlements/stripe/demo-{uuid.uuid4().hex[:8]}.csv")
    blob.upload_from_string(SETTLEMENT_SAMPLE, content_type="text/csv")


def _wait_for_document(collection: str, document: str, timeout_s: float = 30) -> None:
    from google.cloud import firestore

    reference = firestore.Client().collection(collection).document(document)
    deadline = time.monotonic() + timeout_s
    while not reference.get().exists:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{collection}/{document} was not written in time")
        time.sleep(0.2)


def _show_stores(platform: Platform) -> None:
    from google.cloud import firestore, pubsub_v1

    from common.clients import bigquery_client, storage_client

    print("Firestore:")
    for collection in firestore.Client().collections():
        count = collection.count().get()[0][0].value
        print(f"  {collection.id}: {count} document(s)")
    print("Cloud Storage:")
    for bucket in storage_client().list_buckets():
        names = [blob.name for blob in bucket.list_blobs()]
        print(f"  {bucket.name}: {len(names)} object(s) {names}")
    print("Pub/Sub subscriptions:")
    subscriber = pubsub_v1.SubscriberClient()
    project = f"projects/{platform.config.project_id}"
    for subscription in subscriber.list_subscriptions(request={"project": project}):
        print(f"  {subscription.name.rsplit('/', 1)[1]} <- {subscription.topic}")
    print("BigQuery:")
    client = bigquery_client()
    tables = [table.table_id for table in client.list_tables(DATASET)]
    print(f"  {DATASET}: {len(tables)} table(s) {tables}")


@contextmanager
def _environment(platform: Platform) -> Iterator[None]:
    # Under `exec` the platform's variables are set already; after `up` in
    # another terminal they are not, and the default ports are the platform's.
    saved = dict(os.environ)
    for key, value in platform.environment().items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
