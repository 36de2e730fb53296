"""Settings: the process configuration, read once from the environment.

Production and the local platform differ only by the emulator variables: when
any ``*_EMULATOR_HOST`` is set, the process runs in emulator mode.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

DEMO_PROJECT_ID = "demo-crm-aid"


class Settings(BaseModel):
    """The environment of one function process.

    A plain model read from ``os.environ`` rather than pydantic-settings,
    whose import alone cost tens of milliseconds of every cold start.
    Values passed to the constructor win over the environment.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    project_id: str = Field(default="", validation_alias="GOOGLE_CLOUD_PROJECT")
    function_name: str = Field(default="local", validation_alias="K_SERVICE")
    function_timeout_s: PositiveInt = Field(
        default=60, validation_alias="CLOUD_RUN_TIMEOUT_SECONDS"
    )
    firestore_emulator_host: str | None = None
    pubsub_emulator_host: str | None = None
    storage_emulator_host: str | None = None
    bigquery_emulator_host: str | None = None
    firebase_auth_emulator_host: str | None = None
    secret_manager_endpoint: str | None = None
    secret_cache_ttl_s: PositiveInt = 300
    signed_url_key_file: str | None = None
    cors_allowed_origins: str = ""

    def __init__(self, **values: Any) -> None:
        super().__init__(**(_from_environment() | values))

    @field_validator(
        "firestore_emulator_host",
        "pubsub_emulator_host",
        "storage_emulator_host",
        "bigquery_emulator_host",
        "firebase_auth_emulator_host",
        "secret_manager_endpoint",
        "signed_url_key_file",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @model_validator(mode="after")
    def _project_id_is_known(self) -> Self:
        if self.project_id:
            return self
        if not self.emulator_mode:
            raise ValueError("GOOGLE_CLOUD_PROJECT is required outside emulator mode")

        # The model is frozen; this default is part of its construction.
        object.__setattr__(self, "project_id", DEMO_PROJECT_ID)
        return self

    @property
    def emulator_mode(self) -> bool:
        """Whether any Google Cloud service is stood in for by an emulator."""
        return any(
            (
                self.firestore_emulator_host,
                self.pubsub_emulator_host,
                self.storage_emulator_host,
                self.bigquery_emulator_host,
                self.firebase_auth_emulator_host,
            )
        )

    def bucket_name(self, short_name: str) -> str:
        """Return the real name of a bucket, prefixed with the project id."""
        return f"{self.project_id}-{short_name}"

    def topic_path(self, topic: str) -> str:
        """Return the full resource name of a Pub/Sub topic."""
        return f"projects/{self.project_id}/topics/{topic}"


def environment_variables() -> tuple[str, ...]:
    """Return the names of the environment variables that Settings reads."""
    return tuple(_variables())


def _variables() -> dict[str, str]:
    return {
        str(field.validation_alias or name).upper(): name
        for name, field in Settings.model_fields.items()
    }


def _from_environment() -> dict[str, str]:
    return {
        name: os.environ[variable]
        for variable, name in _variables().items()
        if variable in os.environ
    }


@functools.cache
def get_settings() -> Settings:
    """Return the process's settings, read from the environment on first use."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings so the next call reads the environment again."""
    get_settings.cache_clear()
