"""Secrets: the active values of a named secret, wherever they are kept.

A secret may hold several active values while it is rotated; verifiers try
each. Production reads Secret Manager; the local platform reads the
environment (``stripe-webhook-secret`` from ``SECRET_STRIPE_WEBHOOK_SECRET``,
values separated by commas). Values never appear in errors or logs.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from common.errors import (
    CrmError,
    SecretNotConfiguredError,
    UnavailableError,
    wrap_google_error,
)
from common.logs import log_fields

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.cloud import secretmanager

_SECRET_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ENABLED = "ENABLED"

_logger = logging.getLogger(__name__)


class SecretSource(Protocol):
    """Where the active values of secrets come from."""

    def active_values(self, name: str) -> tuple[str, ...]:
        """Return the secret's active values, newest first."""
        ...


def secret_env_var(name: str) -> str:
    """Return the environment variable that holds a secret locally."""
    return "SECRET_" + name.replace("-", "_").upper()


class EnvironmentSecretSource:
    """Secrets from the environment, for the local platform and tests."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def active_values(self, name: str) -> tuple[str, ...]:
        """Return the comma-separated values of ``SECRET_<NAME>``."""
        _check_name(name)
        raw = self._environ.get(secret_env_var(name), "")
        values = tuple(value.strip() for value in raw.split(",") if value.strip())
        if not values:
            raise SecretNotConfiguredError()
        return values


class SecretManagerSecretSource:
    """Secrets from Secret Manager: every ENABLED version, newest first."""

    def __init__(
        self,
        client: secretmanager.SecretManagerServiceClient | None = None,
        *,
        project_id: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._client = client
        self._project_id = project_id
        self._timeout_s = timeout_s

    def active_values(self, name: str) -> tuple[str, ...]:
        """Return the payloads of the secret's enabled versions, newest first."""
        _check_name(name)
        try:
            versions = self._enabled_versions(name)
            values = tuple(self._access(version) for version in versions)
        except Exception as exc:
            raise _secret_manager_error(exc) from exc

        if not values:
            raise SecretNotConfiguredError()
        return values

    def _enabled_versions(self, name: str) -> list[str]:
        parent = f"projects/{self._project()}/secrets/{name}"
        pages = self._secret_manager().list_secret_versions(
            request={"parent": parent, "filter": f"state:{_ENABLED}"},
            retry=self._retry(),
            timeout=self._timeout_s,
        )

        # The filter is applied by the service; checking again costs nothing.
        enabled = [v.name for v in pages if v.state.name == _ENABLED]
        return sorted(enabled, key=_version_number, reverse=True)

    def _access(self, version_name: str) -> str:
        response = self._secret_manager().access_secret_version(
            request={"name": version_name},
            retry=self._retry(),
            timeout=self._timeout_s,
        )
        payload = response.payload
        if payload.data_crc32c and payload.data_crc32c != _crc32c(payload.data):
            # The checksum guards against corruption on the way; a later
            # attempt may well read an intact copy.
            raise UnavailableError(code="secret_checksum_mismatch")
        return payload.data.decode("utf-8").strip()

    def _retry(self) -> Retry:
        from common.clients import request_retry

        return request_retry(self._timeout_s)

    def _secret_manager(self) -> secretmanager.SecretManagerServiceClient:
        if self._client is None:
            from common.clients import secret_manager_client

            self._client = secret_manager_client()
        return self._client

    def _project(self) -> str:
        if self._project_id is None:
            from common.settings import get_settings

            self._project_id = get_settings().project_id
        return self._project_id


@dataclass(frozen=True)
class _Entry:
    values: tuple[str, ...]
    fetched_at: float


class CachedSecretSource:
    """Cache another source's values per name for ``ttl_s`` seconds.

    A rotated secret is picked up within the TTL without a redeploy. If the
    inner source is unavailable, a stale value is served rather than none.
    """

    def __init__(
        self,
        inner: SecretSource,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._fetch_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def active_values(self, name: str) -> tuple[str, ...]:
        """Return the cached values, fetching them when absent or expired."""
        fresh = self._fresh(name)
        if fresh is not None:
            return fresh

        # One fetch per name at a time; readers of other names do not wait.
        with self._fetch_lock(name):
            fresh = self._fresh(name)
            if fresh is not None:
                return fresh
            return self._refresh(name)

    def invalidate(self, name: str | None = None) -> None:
        """Forget one cached secret, or all of them."""
        with self._lock:
            if name is None:
                self._entries.clear()
            else:
                self._entries.pop(name, None)

    def _refresh(self, name: str) -> tuple[str, ...]:
        try:
            values = self._inner.active_values(name)
        except CrmError as exc:
            with self._lock:
                stale = self._entries.get(name)
            if not exc.retryable or stale is None:
                raise

            # Keep serving it for another TTL rather than make every request
            # wait on a dependency that is down.
            _logger.warning("stale secret served", extra=log_fields(secret=name))
            values = stale.values

        with self._lock:
            self._entries[name] = _Entry(values, self._clock())
        return values

    def _fresh(self, name: str) -> tuple[str, ...] | None:
        with self._lock:
            entry = self._entries.get(name)
        if entry is None or self._clock() - entry.fetched_at >= self._ttl_s:
            return None
        return entry.values

    def _fetch_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._fetch_locks.setdefault(name, threading.Lock())


_source_lock = threading.Lock()
_source: SecretSource | None = None


def secret_source() -> SecretSource:
    """Return the process's cached source: Secret Manager, or env locally."""
    global _source
    with _source_lock:
        if _source is None:
            _source = _new_secret_source()
        return _source


def reset_secret_source() -> None:
    """Forget the process's source and its cache, for tests."""
    global _source
    with _source_lock:
        _source = None


def _new_secret_source() -> SecretSource:
    from common.settings import get_settings

    settings = get_settings()
    inner: SecretSource
    if settings.emulator_mode:
        inner = EnvironmentSecretSource()
    else:
        inner = SecretManagerSecretSource(project_id=settings.project_id)
    return CachedSecretSource(inner, ttl_s=settings.secret_cache_ttl_s)


def _check_name(name: str) -> None:
    if not _SECRET_NAME_RE.fullmatch(name):
        raise ValueError("secret names are 1 to 255 letters, digits, - or _")


def _version_number(version_name: str) -> int:
    last = version_name.rsplit("/", 1)[-1]
    return int(last) if last.isdigit() else -1


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


def _secret_manager_error(exc: Exception) -> CrmError:
    from google.api_core import exceptions as api_exceptions

    if isinstance(exc, api_exceptions.NotFound):
        return SecretNotConfiguredError()
    return wrap_google_error(exc)
