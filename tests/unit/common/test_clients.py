"""Unit tests of common.clients: lazy, shared, emulator-aware factories."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials

from common import clients
from common.settings import environment_variables, reset_settings_cache

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run each test without the platform's variables or cached objects."""
    for name in environment_variables():
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    clients.reset_clients()
    yield
    reset_settings_cache()
    clients.reset_clients()


_ROOT = Path(__file__).resolve().parents[3]
_LIGHT_MODULES = [
    "common",
    "common.errors",
    "common.problems",
    "common.settings",
    "common.clients",
    "common.logs",
    "common.secrets",
    "common.events",
    "common.idempotency",
]


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-clients")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:1")


def test_importing_common_modules_loads_no_google_client_library() -> None:
    script = (
        "import sys\n"
        f"for name in {_LIGHT_MODULES!r}: __import__(name)\n"
        "heavy = ('google.cloud.', 'google.api_core', 'firebase_admin', 'grpc')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        ("127.0.0.1:9050", "http://127.0.0.1:9050"),
        ("http://127.0.0.1:9050", "http://127.0.0.1:9050"),
        ("http://127.0.0.1:9050/", "http://127.0.0.1:9050"),
        ("https://bq.example.test", "https://bq.example.test"),
    ],
)
def test_http_endpoint_host_with_or_without_scheme_gives_url(
    host: str, endpoint: str
) -> None:
    assert clients.http_endpoint(host) == endpoint


@pytest.mark.usefixtures("emulated")
def test_firestore_client_second_call_returns_same_client() -> None:
    first = clients.firestore_client()

    assert clients.firestore_client() is first
    assert first.project == "demo-clients"


@pytest.mark.usefixtures("emulated")
def test_reset_clients_next_call_builds_new_client() -> None:
    first = clients.publisher_client()

    clients.reset_clients()

    assert clients.publisher_client() is not first


def test_shared_client_concurrent_first_calls_build_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[object] = []

    def slow_factory() -> object:
        time.sleep(0.05)
        builds.append(object())
        return builds[-1]

    monkeypatch.setattr(clients, "_new_firestore_client", slow_factory)
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(clients.firestore_client()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(builds) == 1
    assert all(result is builds[0] for result in results)


@pytest.mark.usefixtures("emulated")
def test_storage_client_emulator_is_anonymous_with_project() -> None:
    client = clients.storage_client()

    assert client.project == "demo-clients"
    assert isinstance(client._credentials, AnonymousCredentials)
    assert client._connection.API_BASE_URL == "http://127.0.0.1:1"


@pytest.mark.parametrize("host", ["127.0.0.1:9050", "http://127.0.0.1:9050"])
def test_bigquery_client_emulator_host_becomes_http_endpoint(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-clients")
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", host)

    client = clients.bigquery_client()

    assert client.project == "demo-clients"
    assert client._connection.API_BASE_URL == "http://127.0.0.1:9050"
    assert isinstance(client._credentials, AnonymousCredentials)


def test_secret_manager_client_endpoint_uses_rest_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("SECRET_MANAGER_ENDPOINT", "127.0.0.1:9999")

    client = clients.secret_manager_client()

    assert client.transport.kind == "rest"
    assert client.transport._host == "http://127.0.0.1:9999"
