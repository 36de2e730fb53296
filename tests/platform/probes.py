"""Test functions that record every event they receive, for the tests to read."""

from __future__ import annotations

import json
from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent

from common.clients import firestore_client

RECEIVED = "test_received"
ATTEMPTS = "test_attempts"


@functions_framework.cloud_event
def probe_storage(event: CloudEvent) -> None:
    """Record a storage event as it arrived: attributes and data."""
    _record(event)


@functions_framework.cloud_event
def probe_pubsub(event: CloudEvent) -> None:
    """Record a Pub/Sub event as it arrived: attributes and data."""
    _record(event)


@functions_framework.cloud_event
def probe_failing(event: CloudEvent) -> None:
    """Record the attempt, then fail, so that the event is retried."""
    firestore_client().collection(ATTEMPTS).add({"ce_id": event["id"]})
    raise RuntimeError("probe_failing fails on purpose")


@functions_framework.http
def probe_http(request: flask.Request) -> flask.Response:
    """Answer with what arrived: method, path, query, headers and body."""
    echo = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string.decode(),
        "headers": dict(request.headers),
        "body": request.get_data(as_text=True),
    }
    response = flask.Response(json.dumps(echo), status=201, mimetype="application/json")
    response.headers["X-Probe"] = "echo"
    return response


def _record(event: CloudEvent) -> None:
    record: dict[str, Any] = {
        "attributes": dict(event.get_attributes()),
        "data": event.get_data(),
    }
    kind = str(event["type"]).split(".")[2]
    document = f"{kind}-{event['id']}"
    firestore_client().collection(RECEIVED).document(document).set(record)
