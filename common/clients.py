"""Clients: one lazily built Google Cloud client of each kind per process.

Each factory imports its client library on first use, because those imports
cost about a quarter of a second each at cold start. Clients are thread-safe
and shared by all threads of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from common.settings import get_settings

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.auth.credentials import Credentials
    from google.cloud import bigquery, firestore, pubsub_v1, secretmanager, storage

T = TypeVar("T")

PUBLISH_MAX_LATENCY_S = 0.001

_lock = threading.RLock()
_clients: dict[str, Any] = {}


def firestore_client() -> firestore.Client:
    """Return the Firestore client; it honours FIRESTORE_EMULATOR_HOST itself."""
    return _shared("firestore", _new_firestore_client)


def publisher_client() -> pubsub_v1.PublisherClient:
    """Return the Pub/Sub publisher; it honours PUBSUB_EMULATOR_HOST itself."""
    return _shared("publisher", _new_publisher_client)


def storage_client() -> storage.Client:
    """Return the Cloud Storage client, anonymous against the emulator."""
    return _shared("storage", _new_storage_client)


def bigquery_client() -> bigquery.Client:
    """Return the BigQuery client, anonymous against the emulator."""
    return _shared("bigquery", _new_bigquery_client)


def secret_manager_client() -> secretmanager.SecretManagerServiceClient:
    """Return the Secret Manager client, or one bound to SECRET_MANAGER_ENDPOINT."""
    return _shared("secret_manager", _new_secret_manager_client)


def reset_clients() -> None:
    """Forget every client, so the next call builds it from fresh settings."""
    with _lock:
        _clients.clear()


def request_retry(timeout_s: float) -> Retry:
    """Return a retry of transient errors that gives up within ``timeout_s``.

    The clients' default retries may wait a minute or more; a request being
    served cannot, and its caller retries on a 503 anyway.
    """
    from google.api_core.retry import Retry, if_transient_error

    return Retry(
        predicate=if_transient_error, initial=0.1, maximum=1.0, timeout=timeout_s
    )


def http_endpoint(host: str) -> str:
    """Return an emulator host as a URL, adding ``http://`` when it has none."""
    host = host.strip().rstrip("/")
    return host if "://" in host else f"http://{host}"


def _shared(name: str, factory: Callable[[], T]) -> T:
    # A lock rather than functools.cache: two threads racing on a cold
    # process must not build two clients with two connection pools.
    with _lock:
        if name not in _clients:
            _clients[name] = factory()
        return cast(T, _clients[name])


def _anonymous_credentials() -> Credentials:
    from google.auth.credentials import AnonymousCredentials

    return AnonymousCredentials()


def _new_firestore_client() -> firestore.Client:
    from google.cloud import firestore

    return firestore.Client(project=get_settings().project_id)


def _new_publisher_client() -> pubsub_v1.PublisherClient:
    from google.cloud import pubsub_v1

    # Producers publish an event after their commit and wait for it before
    # answering: the default 10 ms batching window is only latency to them.
    batching = pubsub_v1.types.BatchSettings(max_latency=PUBLISH_MAX_LATENCY_S)
    return pubsub_v1.PublisherClient(batch_settings=batching)


def _new_storage_client() -> storage.Client:
    from google.cloud import storage

    # Against the emulator the client reads STORAGE_EMULATOR_HOST for its
    # endpoint by itself; it only needs to stop looking for credentials.
    settings = get_settings()
    emulated = settings.storage_emulator_host is not None
    return storage.Client(
        project=settings.project_id,
        credentials=_anonymous_credentials() if emulated else None,
    )


def _new_bigquery_client() -> bigquery.Client:
    from google.cloud import bigquery

    settings = get_settings()
    if settings.bigquery_emulator_host is None:
        return bigquery.Client(project=settings.project_id)

    from google.api_core.client_options import ClientOptions

    return bigquery.Client(
        project=settings.project_id,
        credentials=_anonymous_credentials(),
        client_options=ClientOptions(
            api_endpoint=http_endpoint(settings.bigquery_emulator_host)
        ),
    )


def _new_secret_manager_client() -> secretmanager.SecretManagerServiceClient:
    from google.cloud import secretmanager

    endpoint = get_settings().secret_manager_endpoint
    if endpoint is None:
        return secretmanager.SecretManagerServiceClient()

    from google.api_core.client_options import ClientOptions

    return secretmanager.SecretManagerServiceClient(
        transport="rest",
        credentials=_anonymous_credentials(),
        client_options=ClientOptions(api_endpoint=http_endpoint(endpoint)),
    )
