"""The Eventarc stand-in: pushes become the CloudEvents Eventarc delivers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flask
import pytest

from emulators.eventarc import (
    Routes,
    Target,
    create_app,
    pubsub_cloud_event,
    storage_cloud_event,
)
from triggers import PubSubTrigger, StorageTrigger

SAMPLES = Path(__file__).parent / "samples"
PROJECT = "demo-crm-aid"
SETTLEMENTS = Target(
    name="settlement_files",
    url="http://127.0.0.1:9/",
    retry=True,
    trigger=StorageTrigger(
        kind="storage", bucket="payment-files", object_prefix="settlements/"
    ),
)
LOADER = Target(
    name="bigquery_loader",
    url="http://127.0.0.1:9/",
    retry=True,
    trigger=PubSubTrigger(kind="pubsub", topic="payment-events"),
)


def _sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def test_storage_cloud_event_has_eventarc_headers_and_object() -> None:
    event = storage_cloud_event(
        PROJECT, SETTLEMENTS, _sample("storage_notification_push.json")
    )

    assert event is not None
    headers, body = event
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "42",
        "ce-source": "//storage.googleapis.com/projects/_/buckets/"
        "demo-crm-aid-payment-files",
        "ce-type": "google.cloud.storage.object.v1.finalized",
        "ce-subject": "objects/settlements/stripe/payout.csv",
        "ce-time": "2026-12-01T10:00:00.123456Z",
        "ce-bucket": "demo-crm-aid-payment-files",
        "content-type": "application/json",
    }
    data = json.loads(body)
    assert data["generation"] == "1764583200123456"
    assert data["metageneration"] == "1"
    assert data["size"] == "33"
    assert data["metadata"] == {"origin": "sftp-bridge"}


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("eventType", "OBJECT_DELETE"),
        ("objectId", "reports/settlements/x.csv"),
        ("bucketId", "demo-crm-aid-kyc-uploads"),
        ("bucketId", "payment-files"),
    ],
)
def test_storage_cloud_event_other_object_or_type_is_not_delivered(
    attribute: str, value: str
) -> None:
    push = _sample("storage_notification_push.json")
    push["message"]["attributes"][attribute] = value

    assert storage_cloud_event(PROJECT, SETTLEMENTS, push) is None


def test_pubsub_cloud_event_keeps_message_and_names_subscription() -> None:
    push = _sample("pubsub_push.json")

    headers, body = pubsub_cloud_event(PROJECT, LOADER, push)

    assert headers["ce-type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert headers["ce-source"] == (
        "//pubsub.googleapis.com/projects/demo-crm-aid/topics/payment-events"
    )
    assert headers["ce-id"] == "7"
    assert headers["ce-time"] == "2026-12-01T10:00:01.000Z"
    data = json.loads(body)
    assert data["message"] == push["message"]
    assert data["subscription"] == push["subscription"]


@pytest.fixture
def client() -> flask.testing.FlaskClient:
    routes = Routes(
        PROJECT, {"settlement_files": SETTLEMENTS, "bigquery_loader": LOADER}
    )
    return create_app(routes).test_client()


def test_app_notification_for_other_prefix_is_acknowledged(
    client: flask.testing.FlaskClient,
) -> None:
    push = _sample("storage_notification_push.json")
    push["message"]["attributes"]["objectId"] = "elsewhere/x.csv"

    response = client.post("/storage/settlement_files", json=push)

    assert response.status_code == 204


@pytest.mark.parametrize(
    "path", ["/storage/bigquery_loader", "/pubsub/settlement_files", "/pubsub/nope"]
)
def test_app_unknown_target_answers_404(
    client: flask.testing.FlaskClient, path: str
) -> None:
    response = client.post(path, json=_sample("pubsub_push.json"))

    assert response.status_code == 404


def test_app_push_without_message_answers_400(
    client: flask.testing.FlaskClient,
) -> None:
    response = client.post("/pubsub/bigquery_loader", data=b"not json")

    assert response.status_code == 400


def test_app_unreachable_function_with_retry_answers_500_for_redelivery(
    client: flask.testing.FlaskClient,
) -> None:
    # Port 9 (discard) has no listener here: the delivery fails to connect.
    response = client.post("/pubsub/bigquery_loader", json=_sample("pubsub_push.json"))

    assert response.status_code == 500


def test_app_unreachable_function_without_retry_is_acknowledged() -> None:
    no_retry = Target(LOADER.name, LOADER.url, retry=False, trigger=LOADER.trigger)
    app = create_app(Routes(PROJECT, {"bigquery_loader": no_retry}))

    response = app.test_client().post(
        "/pubsub/bigquery_loader", json=_sample("pubsub_push.json")
    )

    assert response.status_code == 204


def test_routes_load_reads_the_platform_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.json"
    trigger = SETTLEMENTS.trigger.model_dump()
    body = {"url": SETTLEMENTS.url, "retry": True, "trigger": trigger}
    path.write_text(json.dumps({"project_id": PROJECT, "targets": {"s": body}}))

    routes = Routes.load(path)

    assert routes.targets["s"].trigger == SETTLEMENTS.trigger
