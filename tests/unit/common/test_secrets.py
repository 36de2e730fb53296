"""Unit tests of common.secrets: environment, cache and Secret Manager sources.

The Secret Manager path runs the official client (REST transport) against a
fake of the two REST calls it makes, served on the loopback interface.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import google_crc32c
import pytest
from google.cloud import secretmanager

from common.clients import http_endpoint, reset_clients, secret_manager_client
from common.errors import (
    CrmError,
    SecretNotConfiguredError,
    UnavailableError,
)
from common.secrets import (
    CachedSecretSource,
    EnvironmentSecretSource,
    SecretManagerSecretSource,
    reset_secret_source,
    secret_env_var,
    secret_source,
)
from common.settings import environment_variables, reset_settings_cache

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run each test without the platform's variables or cached objects."""
    for name in environment_variables():
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    reset_clients()
    reset_secret_source()
    yield
    reset_settings_cache()
    reset_clients()
    reset_secret_source()


PROJECT_NUMBER = "271828182845"
# The REST transport asks for enums as numbers: google.cloud.secretmanager.v1
# SecretVersion.State has ENABLED = 1, DISABLED = 2, DESTROYED = 3.
ENABLED, DISABLED = 1, 2


# Environment source


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("stripe-webhook-secret", "SECRET_STRIPE_WEBHOOK_SECRET"),
        ("adyen-hmac-key", "SECRET_ADYEN_HMAC_KEY"),
        ("standard-webhook-secret-acme", "SECRET_STANDARD_WEBHOOK_SECRET_ACME"),
    ],
)
def test_secret_env_var_name_is_upper_snake_case(name: str, variable: str) -> None:
    assert secret_env_var(name) == variable


@pytest.mark.parametrize(
    ("raw", "values"),
    [
        ("whsec_one", ("whsec_one",)),
        ("whsec_new, whsec_old", ("whsec_new", "whsec_old")),
        (" whsec_new ,, whsec_old , ", ("whsec_new", "whsec_old")),
    ],
)
def test_environment_source_comma_separated_values_are_trimmed(
    raw: str, values: tuple[str, ...]
) -> None:
    source = EnvironmentSecretSource({"SECRET_STRIPE_WEBHOOK_SECRET": raw})

    assert source.active_values("stripe-webhook-secret") == values


@pytest.mark.parametrize("environ", [{}, {"SECRET_ADYEN_HMAC_KEY": " , "}])
def test_environment_source_missing_secret_is_not_configured(
    environ: dict[str, str],
) -> None:
    source = EnvironmentSecretSource(environ)

    with pytest.raises(SecretNotConfiguredError) as caught:
        source.active_values("adyen-hmac-key")

    assert caught.value.code == "secret_not_configured"
    assert caught.value.http_status == 500
    assert caught.value.retryable is False


def test_environment_source_reads_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SECRET_STRIPE_WEBHOOK_SECRET", "whsec_env")

    assert EnvironmentSecretSource().active_values("stripe-webhook-secret") == (
        "whsec_env",
    )


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a b", "x" * 256])
def test_environment_source_bad_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="secret names"):
        EnvironmentSecretSource({}).active_values(name)


# Cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeSource:
    def __init__(self, *values: str) -> None:
        self.values: tuple[str, ...] = values
        self.failure: CrmError | None = None
        self.calls: list[str] = []
        self.gate = threading.Event()
        self.gate.set()

    def active_values(self, name: str) -> tuple[str, ...]:
        self.calls.append(name)
        self.gate.wait(timeout=5)
        if self.failure is not None:
            raise self.failure
        return self.values


def test_cached_source_within_ttl_asks_inner_once() -> None:
    inner, clock = FakeSource("v1"), FakeClock()
    cache = CachedSecretSource(inner, ttl_s=300, clock=clock)

    first = cache.active_values("stripe-webhook-secret")
    clock.now += 299
    second = cache.active_values("stripe-webhook-secret")

    assert first == second == ("v1",)
    assert inner.calls == ["stripe-webhook-secret"]


def test_cached_source_after_ttl_picks_up_rotation() -> None:
    inner, clock = FakeSource("v1"), FakeClock()
    cache = CachedSecretSource(inner, ttl_s=300, clock=clock)
    cache.active_values("stripe-webhook-secret")

    inner.values = ("v2", "v1")
    clock.now += 300

    assert cache.active_values("stripe-webhook-secret") == ("v2", "v1")
    assert len(inner.calls) == 2


def test_cached_source_names_are_cached_apart() -> None:
    inner = FakeSource("v1")
    cache = CachedSecretSource(inner, ttl_s=300, clock=FakeClock())

    cache.active_values("stripe-webhook-secret")
    cache.active_values("adyen-hmac-key")
    cache.active_values("adyen-hmac-key")

    assert inner.calls == ["stripe-webhook-secret", "adyen-hmac-key"]


def test_cached_source_inner_unavailable_serves_stale_values() -> None:
    inner, clock = FakeSource("v1"), FakeClock()
    cache = CachedSecretSource(inner, ttl_s=300, clock=clock)
    cache.active_values("stripe-webhook-secret")

    inner.failure = UnavailableError()
    clock.now += 301

    assert cache.active_values("stripe-webhook-secret") == ("v1",)
    assert cache.active_values("stripe-webhook-secret") == ("v1",)
    assert len(inner.calls) == 2


def test_cached_source_permanent_failure_is_raised() -> None:
    inner, clock = FakeSource("v1"), FakeClock()
    cache = CachedSecretSource(inner, ttl_s=300, clock=clock)
    cache.active_values("stripe-webhook-secret")

    inner.failure = SecretNotConfiguredError()
    clock.now += 301

    with pytest.raises(SecretNotConfiguredError):
        cache.active_values("stripe-webhook-secret")


def test_cached_source_unavailable_without_stale_value_is_raised() -> None:
    inner = FakeSource("v1")
    inner.failure = UnavailableError()
    cache = CachedSecretSource(inner, ttl_s=300, clock=FakeClock())

    with pytest.raises(UnavailableError):
        cache.active_values("stripe-webhook-secret")


def test_cached_source_invalidate_forces_refetch() -> None:
    inner = FakeSource("v1")
    cache = CachedSecretSource(inner, ttl_s=300, clock=FakeClock())
    cache.active_values("stripe-webhook-secret")

    cache.invalidate("stripe-webhook-secret")
    cache.active_values("stripe-webhook-secret")
    cache.invalidate()
    cache.active_values("stripe-webhook-secret")

    assert len(inner.calls) == 3


def test_cached_source_concurrent_cold_reads_fetch_once() -> None:
    inner = FakeSource("v1")
    inner.gate.clear()
    cache = CachedSecretSource(inner, ttl_s=300, clock=FakeClock())
    results: list[tuple[str, ...]] = []

    def read() -> None:
        results.append(cache.active_values("stripe-webhook-secret"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    inner.gate.set()
    for thread in threads:
        thread.join()

    assert results == [("v1",)] * 8
    assert inner.calls == ["stripe-webhook-secret"]


# Secret Manager, through the official client against a fake server


@dataclass
class FakeSecretManager:
    """What the fake server holds and what it was asked."""

    versions: dict[str, list[tuple[int, int, bytes]]] = field(default_factory=dict)
    fail_with: int | None = None
    corrupt_checksums: bool = False
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        """Answer one GET the way the REST API does."""
        if self.fail_with is not None:
            return self.fail_with, _status_body(self.fail_with)

        parts = path.strip("/").split("/")
        # v1/projects/P/secrets/NAME/versions
        if len(parts) == 6 and parts[5] == "versions":
            return self._list(parts[4])
        # v1/projects/P/secrets/NAME/versions/N:access
        if len(parts) == 7 and parts[6].endswith(":access"):
            return self._access(parts[4], int(parts[6].removesuffix(":access")))
        return 404, _status_body(404)

    def _list(self, secret: str) -> tuple[int, dict[str, Any]]:
        if secret not in self.versions:
            return 404, _status_body(404)
        versions = [
            {"name": _version_name(secret, number), "state": state}
            for number, state, _ in sorted(self.versions[secret], reverse=True)
        ]
        return 200, {"versions": versions, "totalSize": len(versions)}

    def _access(self, secret: str, number: int) -> tuple[int, dict[str, Any]]:
        for candidate, _, data in self.versions.get(secret, []):
            if candidate == number:
                checksum = google_crc32c.value(data) + int(self.corrupt_checksums)
                payload = {
                    "data": base64.b64encode(data).decode(),
                    "dataCrc32c": str(checksum),
                }
                return 200, {"name": _version_name(secret, number), "payload": payload}
        return 404, _status_body(404)


def _version_name(secret: str, number: int) -> str:
    return f"projects/{PROJECT_NUMBER}/secrets/{secret}/versions/{number}"


def _status_body(status: int) -> dict[str, Any]:
    names = {404: "NOT_FOUND", 500: "INTERNAL", 503: "UNAVAILABLE"}
    return {"error": {"code": status, "message": "fake", "status": names[status]}}


def _handler(fake: FakeSecretManager) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            fake.requests.append((url.path, parse_qs(url.query)))
            status, body = fake.answer(url.path)

            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    return Handler


@pytest.fixture
def fake_secret_manager() -> Iterator[tuple[FakeSecretManager, str]]:
    fake = FakeSecretManager()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield fake, f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def secret_manager_source(
    monkeypatch: pytest.MonkeyPatch,
    fake_secret_manager: tuple[FakeSecretManager, str],
) -> SecretManagerSecretSource:
    _, endpoint = fake_secret_manager
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("SECRET_MANAGER_ENDPOINT", http_endpoint(endpoint))
    client: secretmanager.SecretManagerServiceClient = secret_manager_client()
    return SecretManagerSecretSource(client, project_id="crm-prod", timeout_s=1)


def test_secret_manager_source_enabled_versions_newest_first(
    fake_secret_manager: tuple[FakeSecretManager, str],
    secret_manager_source: SecretManagerSecretSource,
) -> None:
    fake, _ = fake_secret_manager
    fake.versions["stripe-webhook-secret"] = [
        (1, ENABLED, b"whsec_old"),
        (2, DISABLED, b"whsec_revoked"),
        (3, ENABLED, b"whsec_new\n"),
    ]

    values = secret_manager_source.active_values("stripe-webhook-secret")

    assert values == ("whsec_new", "whsec_old")
    [(list_path, list_query), *accesses] = fake.requests
    assert list_path == "/v1/projects/crm-prod/secrets/stripe-webhook-secret/versions"
    assert list_query["filter"] == ["state:ENABLED"]
    secret = f"/v1/projects/{PROJECT_NUMBER}/secrets/stripe-webhook-secret"
    assert [path for path, _ in accesses] == [
        f"{secret}/versions/3:access",
        f"{secret}/versions/1:access",
    ]


def test_secret_manager_source_unknown_secret_is_not_configured(
    secret_manager_source: SecretManagerSecretSource,
) -> None:
    with pytest.raises(SecretNotConfiguredError) as caught:
        secret_manager_source.active_values("adyen-hmac-key")

    assert caught.value.retryable is False


def test_secret_manager_source_no_enabled_version_is_not_configured(
    fake_secret_manager: tuple[FakeSecretManager, str],
    secret_manager_source: SecretManagerSecretSource,
) -> None:
    fake, _ = fake_secret_manager
    fake.versions["adyen-hmac-key"] = [(1, DISABLED, b"old")]

    with pytest.raises(SecretNotConfiguredError):
        secret_manager_source.active_values("adyen-hmac-key")


@pytest.mark.parametrize("status", [500, 503])
def test_secret_manager_source_server_error_is_retryable_unavailable(
    fake_secret_manager: tuple[FakeSecretManager, str],
    secret_manager_source: SecretManagerSecretSource,
    status: int,
) -> None:
    fake, _ = fake_secret_manager
    fake.fail_with = status

    with pytest.raises(UnavailableError) as caught:
        secret_manager_source.active_values("stripe-webhook-secret")

    assert caught.value.retryable is True
    assert caught.value.__cause__ is not None


def test_secret_manager_source_checksum_mismatch_is_retryable(
    fake_secret_manager: tuple[FakeSecretManager, str],
    secret_manager_source: SecretManagerSecretSource,
) -> None:
    fake, _ = fake_secret_manager
    fake.versions["stripe-webhook-secret"] = [(1, ENABLED, b"whsec_one")]
    fake.corrupt_checksums = True

    with pytest.raises(UnavailableError) as caught:
        secret_manager_source.active_values("stripe-webhook-secret")

    assert caught.value.code == "secret_checksum_mismatch"
    assert "whsec_one" not in caught.value.detail


def test_secret_source_production_reads_secret_manager(
    monkeypatch: pytest.MonkeyPatch,
    fake_secret_manager: tuple[FakeSecretManager, str],
) -> None:
    fake, endpoint = fake_secret_manager
    fake.versions["stripe-webhook-secret"] = [(4, ENABLED, b"whsec_prod")]
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("SECRET_MANAGER_ENDPOINT", endpoint)
    monkeypatch.setenv("SECRET_STRIPE_WEBHOOK_SECRET", "whsec_env")

    source = secret_source()

    assert source is secret_source()
    assert source.active_values("stripe-webhook-secret") == ("whsec_prod",)
    assert source.active_values("stripe-webhook-secret") == ("whsec_prod",)
    assert len(fake.requests) == 2


def test_secret_source_emulator_mode_reads_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")
    monkeypatch.setenv("SECRET_STRIPE_WEBHOOK_SECRET", "whsec_local")

    assert secret_source().active_values("stripe-webhook-secret") == ("whsec_local",)
