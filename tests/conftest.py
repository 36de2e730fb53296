"""Shared fixtures: the local platform, started once per test session."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from emulators.config import ROOT
from emulators.platform import Platform
from tests.support import ReadLines, platform_config_for_tests, reset_firestore

if TYPE_CHECKING:
    from google.cloud import firestore


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder: unit, integration or e2e."""
    for item in items:
        tier = Path(str(item.path)).relative_to(ROOT / "tests").parts[0]
        if tier in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def platform() -> Iterator[Platform]:
    """The whole local platform with the test functions, for the session."""
    running = Platform(platform_config_for_tests())
    with running:
        saved = dict(os.environ)
        os.environ.update(running.environment())
        _reset_process_caches()
        try:
            yield running
        finally:
            os.environ.clear()
            os.environ.update(saved)
            _reset_process_caches()


@pytest.fixture
def firestore_client(platform: Platform) -> firestore.Client:
    """A Firestore client on the emulator, with the database emptied first."""
    from google.cloud import firestore

    reset_firestore(platform)
    return firestore.Client(project=platform.config.project_id)


@pytest.fixture
def read_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[ReadLines]:
    """The JSON log lines written so far, as the function `payment_webhooks`."""
    from common.logs import configure_logging

    root = logging.getLogger()
    level = root.level
    configure_logging("payment_webhooks", project_id="demo-logs")

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    yield read
    for handler in list(root.handlers):
        if type(handler).__name__ == "_StdoutHandler":
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def pubsub_env(platform: Platform) -> dict[str, str]:
    """The platform's environment, with the Pub/Sub emulator in it."""
    return platform.environment()


def _reset_process_caches() -> None:
    from common.auth import reset_auth
    from common.clients import reset_clients
    from common.customers.uploads import reset_signer
    from common.settings import reset_settings_cache

    reset_settings_cache()
    reset_clients()
    reset_auth()
    reset_signer()
