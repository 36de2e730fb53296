"""Every trigger kind, delivered end to end as Google Cloud delivers it."""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING, Any

import requests
from google.cloud.firestore_v1.base_query import FieldFilter

from emulators.platform import Platform
from emulators.wiring import subscription_id
from tests.support import eventually

if TYPE_CHECKING:
    from google.cloud import firestore

RECEIVED = "test_received"
ATTEMPTS = "test_attempts"


def _received(client: firestore.Client, field: str, value: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        query = client.collection(RECEIVED).where(
            filter=FieldFilter(field, "==", value)
        )
        found = query.get()
        return found[0].to_dict() if found else None

    return eventually(probe)


def test_storage_upload_reaches_function_as_finalized_cloud_event(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    from google.cloud import storage

    bucket_name = f"{platform.config.project_id}-payment-files"
    name = f"probe/{uuid.uuid4().hex}.csv"
    blob = storage.Client().bucket(bucket_name).blob(name)
    blob.metadata = {"origin": "e2e-test"}
    blob.upload_from_string(b"a,b\n1,2\n", content_type="text/csv")

    event = _received(firestore_client, "data.name", name)

    attributes, data = event["attributes"], event["data"]
    assert attributes["type"] == "google.cloud.storage.object.v1.finalized"
    assert attributes["source"] == (
        f"//storage.googleapis.com/projects/_/buckets/{bucket_name}"
    )
    assert attributes["subject"] == f"objects/{name}"
    assert attributes["specversion"] == "1.0"
    assert attributes["id"]
    assert attributes["time"].startswith(data["updated"][:19])
    assert data["bucket"] == bucket_name
    assert data["generation"] == str(blob.generation)
    assert data["metageneration"] == "1"
    assert data["contentType"] == "text/csv"
    assert data["size"] == "8"
    assert data["md5Hash"] == blob.md5_hash
    assert data["crc32c"] == blob.crc32c
    assert data["timeCreated"]
    assert data["metadata"] == {"origin": "e2e-test"}


def test_storage_upload_outside_prefix_is_not_delivered(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    from google.cloud import storage

    bucket = storage.Client().bucket(f"{platform.config.project_id}-payment-files")
    outside = f"elsewhere/{uuid.uuid4().hex}.csv"
    inside = f"probe/{uuid.uuid4().hex}.csv"
    bucket.blob(outside).upload_from_string(b"x")
    bucket.blob(inside).upload_from_string(b"y")

    # Notifications of one bucket arrive in order: once the later upload has
    # arrived, the earlier one would have too.
    _received(firestore_client, "data.name", inside)
    stray = firestore_client.collection(RECEIVED).where(
        filter=FieldFilter("data.name", "==", outside)
    )
    assert stray.get() == []


def test_publish_reaches_function_with_data_and_attributes(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    from google.cloud import pubsub_v1

    marker = uuid.uuid4().hex
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(platform.config.project_id, "test-inbox")
    message_id = publisher.publish(
        topic, b'{"hello": "world"}', marker=marker, kind="probe"
    ).result(timeout=10)

    event = _received(firestore_client, "data.message.attributes.marker", marker)

    attributes, data = event["attributes"], event["data"]
    assert attributes["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert attributes["source"] == (
        f"//pubsub.googleapis.com/projects/{platform.config.project_id}"
        "/topics/test-inbox"
    )
    assert attributes["id"] == message_id
    assert data["subscription"] == (
        f"projects/{platform.config.project_id}/subscriptions/"
        f"{subscription_id(platform.catalog.function('probe_pubsub'))}"  # type: ignore[union-attr]
    )
    message = data["message"]
    assert base64.b64decode(message["data"]) == b'{"hello": "world"}'
    assert message["attributes"] == {"marker": marker, "kind": "probe"}
    assert message["messageId"] == message_id
    assert message["publishTime"]


def test_failing_function_is_retried_then_dead_lettered_once(
    platform: Platform, firestore_client: firestore.Client
) -> None:
    from google.cloud import pubsub_v1

    marker = uuid.uuid4().hex
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(platform.config.project_id, "test-failing")
    message_id = publisher.publish(topic, b"doomed", marker=marker).result(timeout=10)

    def dead_letters() -> list[dict[str, Any]] | None:
        query = firestore_client.collection("dead_letters").where(
            filter=FieldFilter("attributes.marker", "==", marker)
        )
        return [snapshot.to_dict() or {} for snapshot in query.get()] or None

    recorded = eventually(dead_letters, timeout_s=60)

    failing = platform.catalog.function("probe_failing")  # type: ignore[union-attr]
    attempts = firestore_client.collection(ATTEMPTS).where(
        filter=FieldFilter("ce_id", "==", message_id)
    )
    assert len(attempts.get()) == failing.max_delivery_attempts
    assert len(recorded) == 1
    letter = recorded[0]
    assert letter["source_subscription"] == (
        f"projects/{platform.config.project_id}/subscriptions/"
        f"{subscription_id(failing)}"
    )
    assert letter["delivery_count"] == failing.max_delivery_attempts
    assert letter["data"] == b"doomed"
    assert letter["attributes"]["marker"] == marker


def test_gateway_forwards_method_path_query_headers_and_body(
    platform: Platform,
) -> None:
    response = requests.post(
        f"{platform.config.url('gateway')}/v1/probe/a/b?x=1&y=%2F",
        data=json.dumps({"k": "v"}),
        headers={"Content-Type": "application/json", "X-Custom": "kept"},
        timeout=10,
    )

    assert response.status_code == 201
    assert response.headers["X-Probe"] == "echo"
    echo = response.json()
    assert echo["method"] == "POST"
    assert echo["path"] == "/v1/probe/a/b"
    assert echo["query"] == "x=1&y=%2F"
    assert echo["headers"]["X-Custom"] == "kept"
    assert echo["body"] == '{"k": "v"}'


def test_gateway_routes_the_prefix_itself(platform: Platform) -> None:
    response = requests.get(f"{platform.config.url('gateway')}/v1/probe", timeout=10)

    assert response.status_code == 201
    assert response.json()["method"] == "GET"


def test_gateway_answers_404_problem_for_unowned_path(platform: Platform) -> None:
    for path in ("/v1/nobody-home", "/v1/probeish", "/", "/v2/probe"):
        response = requests.get(f"{platform.config.url('gateway')}{path}", timeout=10)

        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "route_not_found"
        assert problem["status"] == 404
