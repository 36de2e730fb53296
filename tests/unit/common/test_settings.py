"""Unit tests of common.settings: configuration from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pydantic
import pytest

from common.settings import (
    DEMO_PROJECT_ID,
    Settings,
    environment_variables,
    get_settings,
    reset_settings_cache,
)

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run each test without the platform's variables or cached objects."""
    for name in environment_variables():
        monkeypatch.delenv(name, raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


def test_settings_production_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("K_SERVICE", "payment_webhooks")
    monkeypatch.setenv("CLOUD_RUN_TIMEOUT_SECONDS", "120")
    monkeypatch.setenv("SECRET_CACHE_TTL_S", "30")

    settings = Settings()

    assert settings.project_id == "crm-prod"
    assert settings.function_name == "payment_webhooks"
    assert settings.function_timeout_s == 120
    assert settings.secret_cache_ttl_s == 30
    assert settings.emulator_mode is False


def test_settings_defaults_apply_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")

    settings = Settings()

    assert settings.function_name == "local"
    assert settings.function_timeout_s == 60
    assert settings.secret_cache_ttl_s == 300
    assert settings.secret_manager_endpoint is None


def test_settings_no_project_in_production_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="GOOGLE_CLOUD_PROJECT"):
        Settings()


def test_settings_no_project_in_emulator_mode_uses_demo_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8080")

    assert Settings().project_id == DEMO_PROJECT_ID


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("FIRESTORE_EMULATOR_HOST", "firestore_emulator_host"),
        ("PUBSUB_EMULATOR_HOST", "pubsub_emulator_host"),
        ("STORAGE_EMULATOR_HOST", "storage_emulator_host"),
        ("BIGQUERY_EMULATOR_HOST", "bigquery_emulator_host"),
        ("FIREBASE_AUTH_EMULATOR_HOST", "firebase_auth_emulator_host"),
    ],
)
def test_settings_any_emulator_host_turns_on_emulator_mode(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-x")
    monkeypatch.setenv(variable, "127.0.0.1:9000")

    settings = Settings()

    assert getattr(settings, field) == "127.0.0.1:9000"
    assert settings.emulator_mode is True


def test_settings_blank_emulator_host_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "  ")

    settings = Settings()

    assert settings.pubsub_emulator_host is None
    assert settings.emulator_mode is False


def test_settings_secret_manager_endpoint_is_not_an_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("SECRET_MANAGER_ENDPOINT", "http://127.0.0.1:9999")

    settings = Settings()

    assert settings.secret_manager_endpoint == "http://127.0.0.1:9999"
    assert settings.emulator_mode is False


@pytest.mark.parametrize("timeout", ["0", "-5", "soon"])
def test_settings_bad_timeout_is_refused(
    monkeypatch: pytest.MonkeyPatch, timeout: str
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "crm-prod")
    monkeypatch.setenv("CLOUD_RUN_TIMEOUT_SECONDS", timeout)

    with pytest.raises(pydantic.ValidationError):
        Settings()


def test_settings_bucket_name_is_prefixed_with_project() -> None:
    settings = Settings(project_id="crm-prod")

    assert settings.bucket_name("kyc-uploads") == "crm-prod-kyc-uploads"


def test_settings_topic_path_names_the_project() -> None:
    settings = Settings(project_id="crm-prod")

    assert settings.topic_path("payment-events") == (
        "projects/crm-prod/topics/payment-events"
    )


def test_get_settings_second_call_returns_cached_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "first")
    first = get_settings()
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "second")

    assert get_settings() is first
    assert get_settings().project_id == "first"


def test_reset_settings_cache_next_call_rereads_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "first")
    get_settings()
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "second")

    reset_settings_cache()

    assert get_settings().project_id == "second"
