"""The Eventarc stand-in: Pub/Sub pushes turned into CloudEvents for functions.

Each event-triggered function has its own push subscription, as Eventarc
gives each trigger one. The subscription pushes here; this app turns the push
into the binary-mode CloudEvent Eventarc delivers and posts it to the
function. A function's non-2xx answer becomes a non-2xx answer to Pub/Sub,
so the subscription's retry and dead-letter policies act as in production.
A function with retry off is acknowledged whatever it answers.

Shapes: https://cloud.google.com/eventarc/docs/cloudevents and the
google-cloudevents repository (StorageObjectData, MessagePublishedData).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import urllib3
from pydantic import TypeAdapter

from triggers import PubSubTrigger, StorageTrigger

PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
STORAGE_TYPES = {
    "OBJECT_FINALIZE": "google.cloud.storage.object.v1.finalized",
    "OBJECT_DELETE": "google.cloud.storage.object.v1.deleted",
    "OBJECT_ARCHIVE": "google.cloud.storage.object.v1.archived",
    "OBJECT_METADATA_UPDATE": "google.cloud.storage.object.v1.metadataUpdated",
}
ROUTES_ENV = "CRM_PLATFORM_ROUTES"
# Cloud Storage's JSON API writes int64 values as strings.
INT64_FIELDS = ("generation", "metageneration", "size")

logger = logging.getLogger("eventarc")
_TRIGGER: TypeAdapter[PubSubTrigger | StorageTrigger] = TypeAdapter(
    PubSubTrigger | StorageTrigger
)


@dataclass(frozen=True)
class Target:
    """One event-triggered function and what it listens to."""

    name: str
    url: str
    retry: bool
    trigger: PubSubTrigger | StorageTrigger


@dataclass(frozen=True)
class Routes:
    """The project and every event-triggered function, read from a file."""

    project_id: str
    targets: dict[str, Target]

    @classmethod
    def load(cls, path: Path) -> Routes:
        """Read the routes file the platform writes before it starts this app."""
        document = json.loads(path.read_text())
        targets = {
            name: Target(
                name=name,
                url=body["url"],
                retry=body["retry"],
                trigger=_TRIGGER.validate_python(body["trigger"]),
            )
            for name, body in document["targets"].items()
        }
        return cls(project_id=document["project_id"], targets=targets)


def create_app(routes: Routes | None = None) -> flask.Flask:
    """Build the WSGI app; gunicorn calls it with the routes file's path."""
    routes = routes or Routes.load(Path(os.environ[ROUTES_ENV]))
    pool = urllib3.PoolManager(maxsize=32, retries=False)
    app = flask.Flask(__name__)

    @app.post("/pubsub/<name>")
    def pubsub_push(name: str) -> flask.Response:
        target = routes.targets.get(name)
        if target is None or not isinstance(target.trigger, PubSubTrigger):
            return _answer(404, "no such pubsub target")
        headers, body = pubsub_cloud_event(routes.project_id, target, _push_body())
        return _deliver(pool, target, headers, body)

    @app.post("/storage/<name>")
    def storage_push(name: str) -> flask.Response:
        target = routes.targets.get(name)
        if target is None or not isinstance(target.trigger, StorageTrigger):
            return _answer(404, "no such storage target")
        event = storage_cloud_event(routes.project_id, target, _push_body())
        if event is None:
            return _answer(204, "")
        return _deliver(pool, target, *event)

    return app


def pubsub_cloud_event(
    project_id: str, target: Target, push: dict[str, Any]
) -> tuple[dict[str, str], bytes]:
    """Build the messagePublished CloudEvent for one push of a topic."""
    assert isinstance(target.trigger, PubSubTrigger)
    message = push["message"]
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(message["messageId"]),
        "ce-source": f"//pubsub.googleapis.com/projects/{project_id}/topics/"
        f"{target.trigger.topic}",
        "ce-type": PUBSUB_PUBLISHED,
        "ce-time": str(message["publishTime"]),
        "content-type": "application/json",
    }
    data = {"message": message, "subscription": push["subscription"]}
    return headers, json.dumps(data).encode()


def storage_cloud_event(
    project_id: str, target: Target, push: dict[str, Any]
) -> tuple[dict[str, str], bytes] | None:
    """Build the object CloudEvent for a notification, or None if not ours."""
    assert isinstance(target.trigger, StorageTrigger)
    attributes = push["message"].get("attributes", {})
    event_type = STORAGE_TYPES.get(attributes.get("eventType", ""))
    bucket = attributes.get("bucketId", "")
    name = attributes.get("objectId", "")
    short_bucket = bucket.removeprefix(f"{project_id}-")
    if event_type != target.trigger.event_type:
        return None
    if short_bucket == bucket or not target.trigger.matches(short_bucket, name):
        return None

    data = storage_object(push["message"])
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(push["message"]["messageId"]),
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "ce-type": event_type,
        "ce-subject": f"objects/{name}",
        "ce-time": str(data.get("updated") or attributes.get("eventTime")),
        "ce-bucket": bucket,
        "content-type": "application/json",
    }
    return headers, json.dumps(data).encode()


def storage_object(message: dict[str, Any]) -> dict[str, Any]:
    """The object resource of a notification, completed as Eventarc sends it.

    fake-gcs-server leaves out `metageneration`; a newly finalized object is
    at its first metageneration.
    """
    resource: dict[str, Any] = json.loads(base64.b64decode(message.get("data", "")))
    resource.setdefault("kind", "storage#object")
    resource.setdefault("metageneration", "1")
    resource.setdefault("metadata", {})
    for field in INT64_FIELDS:
        if field in resource:
            resource[field] = str(resource[field])
    resource.setdefault(
        "id", f"{resource['bucket']}/{resource['name']}/{resource['generation']}"
    )
    return resource


def _push_body() -> dict[str, Any]:
    body = flask.request.get_json(force=True, silent=True)
    if not isinstance(body, dict) or "message" not in body:
        flask.abort(400)
    return body


def _deliver(
    pool: urllib3.PoolManager, target: Target, headers: dict[str, str], body: bytes
) -> flask.Response:
    try:
        response = pool.request(
            "POST", target.url, body=body, headers=headers, timeout=600.0
        )
        status = response.status
    except urllib3.exceptions.HTTPError:
        status = 503

    if 200 <= status < 300:
        return _answer(204, "")
    logger.warning("function answered %s for event %s", status, headers["ce-id"])
    if not target.retry:
        return _answer(204, "")
    return _answer(500, f"function answered {status}")


def _answer(status: int, text: str) -> flask.Response:
    return flask.Response(text, status=status, mimetype="text/plain")
