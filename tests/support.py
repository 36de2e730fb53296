"""Helpers the tests share: the test platform's settings and polling."""

from __future__ import annotations

import os
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from emulators.config import ROOT, PlatformConfig
from emulators.platform import Platform
from triggers import DEFAULT_DEFINITIONS

TEST_DEFINITIONS = Path(__file__).parent / "platform" / "functions.toml"
# Apart from the default ports, so that tests run beside `make run`; two
# checkouts testing at once choose their own offsets.
TEST_PORT_OFFSET = int(os.environ.get("CRM_TEST_PORT_OFFSET", "1000"))
T = TypeVar("T")
# Reads the JSON log lines written so far (the `read_lines` fixture).
ReadLines = Callable[[], list[dict[str, Any]]]


def platform_config_for_tests() -> PlatformConfig:
    """The configuration of the platform the tests run on."""
    config = PlatformConfig(
        definitions=(DEFAULT_DEFINITIONS, TEST_DEFINITIONS),
        state_dir=ROOT / ".local" / "test-platform",
        max_backoff_s=1.0,
    )
    return config.with_offset(TEST_PORT_OFFSET)


def reset_firestore(platform: Platform) -> None:
    """Delete every document in the emulator's default database."""
    url = (
        f"{platform.config.url('firestore')}/emulator/v1/projects/"
        f"{platform.config.project_id}/databases/(default)/documents"
    )
    request = urllib.request.Request(url, method="DELETE")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def eventually(
    probe: Callable[[], T | None], timeout_s: float = 30.0, every_s: float = 0.2
) -> T:
    """Return the probe's first non-empty result, or fail after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"nothing arrived within {timeout_s} s")
        time.sleep(every_s)
