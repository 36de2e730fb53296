"""`python -m emulators`: exit codes, clean stops and clear start-up errors."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from emulators.config import ROOT
from emulators.platform import PLATFORM_ID_ENV, Platform
from tests.support import TEST_PORT_OFFSET

# Beside the session's test platform and `make run` (offset 0).
EXEC_PORT_OFFSET = TEST_PORT_OFFSET + 1000


def _run(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulators", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _exec(tmp_path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return _run(
        "exec",
        "--port-offset",
        str(EXEC_PORT_OFFSET),
        "--state-dir",
        str(tmp_path / "platform"),
        "--",
        *command,
    )


def _platform_ids() -> set[str]:
    """The platform id of every live process that carries one."""
    found = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            variables = environ.read_bytes().split(b"\0")
        except OSError:
            continue
        prefix = f"{PLATFORM_ID_ENV}=".encode()
        found |= {v[len(prefix) :].decode() for v in variables if v.startswith(prefix)}
    return found


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_exec_false_exits_1_and_leaves_no_process(
    platform: Platform, tmp_path: Path
) -> None:
    seen = tmp_path / "platform-id"

    result = _exec(tmp_path, "sh", "-c", f'echo "${PLATFORM_ID_ENV}" > {seen}; false')

    assert result.returncode == 1, result.stderr[-2000:]
    # Only this platform's processes: others may run on the machine.
    started = seen.read_text().strip()
    assert started
    assert started not in _platform_ids()


def test_exec_true_exits_0_with_environment_and_leaves_no_process(
    platform: Platform, tmp_path: Path
) -> None:
    seen = tmp_path / "environment"
    script = f"env > {seen}"

    result = _exec(tmp_path, "sh", "-c", script)

    assert result.returncode == 0, result.stderr[-2000:]
    variables = dict(
        line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line
    )
    for name in (
        "GOOGLE_CLOUD_PROJECT",
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        "BIGQUERY_EMULATOR_HOST",
        "FIREBASE_AUTH_EMULATOR_HOST",
        "CRM_API_URL",
    ):
        assert variables[name]
    assert variables["CRM_API_URL"] == f"http://127.0.0.1:{8080 + EXEC_PORT_OFFSET}"
    assert variables[PLATFORM_ID_ENV] not in _platform_ids()


def test_exec_busy_port_is_named_before_anything_starts(
    busy_port: int, tmp_path: Path
) -> None:
    result = _run(
        "exec",
        "--port-offset",
        str(EXEC_PORT_OFFSET),
        "--port",
        f"firestore={busy_port}",
        "--state-dir",
        str(tmp_path / "platform"),
        "--",
        "true",
        timeout_s=30,
    )

    assert result.returncode == 3
    assert f"{busy_port} (firestore)" in result.stderr
    assert not (tmp_path / "platform" / "logs").exists()


def test_exec_broken_definition_names_function_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        "[functions.orphan]\n"
        'source = "functions/dead_letters/main.py"\n'
        'entry_point = "dead_letters"\n'
        'trigger = { kind = "pubsub", topic = "no-such-topic" }\n'
    )

    result = _run("exec", "--definitions", str(broken), "--", "true", timeout_s=30)

    assert result.returncode == 3
    assert (
        "function 'orphan': field 'trigger.topic': unknown topic 'no-such-topic'"
        in result.stderr
    )


def test_exec_unknown_port_name_is_rejected() -> None:
    result = _run("exec", "--port", "mainframe=1", "--", "true", timeout_s=30)

    assert result.returncode == 3
    assert "--port mainframe=1: expected NAME=PORT" in result.stderr


def test_exec_missing_command_is_rejected(tmp_path: Path) -> None:
    result = _run(
        "exec", "--port-offset", "2500", "--state-dir", str(tmp_path), timeout_s=30
    )

    assert result.returncode == 3
    assert "exec needs a command" in result.stderr


def _start_up(tmp_path: Path, stdout: int, stderr: int) -> subprocess.Popen[str]:
    """Start `up` on the e2e ports, its state under ``tmp_path``."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "emulators", "up",
            "--port-offset", str(EXEC_PORT_OFFSET),
            "--state-dir", str(tmp_path / "platform"),
        ],
        cwd=ROOT,
        stdout=stdout,
        stderr=stderr,
        text=True,
    )  # fmt: skip


def test_up_prints_endpoints_serves_and_stops_on_sigterm_however_many(
    platform: Platform, tmp_path: Path
) -> None:
    gateway = f"http://127.0.0.1:{8080 + EXEC_PORT_OFFSET}"
    up = _start_up(tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert up.stdout is not None
    printed = []
    for line in up.stdout:
        printed.append(line)
        if "Ctrl-C stops everything" in line:
            break

    answer = requests.get(f"{gateway}/v1/nothing-here", timeout=10)
    # As `make run` gets stopped: make passes its own SIGTERM on to `up`
    # after the group's, and then comes an impatient Ctrl-C, while it stops.
    for signum in (signal.SIGTERM, signal.SIGTERM, signal.SIGINT):
        up.send_signal(signum)
        time.sleep(0.3)
    code = up.wait(timeout=60)

    output = "".join(printed)
    started = re.search(rf"export {PLATFORM_ID_ENV}=(\w+)", output)
    assert started is not None
    assert "local platform ready in" in output
    assert gateway in output
    assert "function dead_letters" in output
    assert (tmp_path / "platform" / "logs" / "firestore.log").is_file()
    assert answer.status_code == 404
    assert code == 0
    assert started[1] not in _platform_ids()


def test_up_stopped_while_starting_exits_143_and_leaves_no_process(
    platform: Platform, tmp_path: Path
) -> None:
    before = _platform_ids()
    up = _start_up(tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # The emulators' logs appear once their processes have started, seconds
    # before everything answers.
    first_log = tmp_path / "platform" / "logs" / "firestore.log"
    deadline = time.monotonic() + 30
    while not first_log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    up.send_signal(signal.SIGTERM)
    _, stderr = up.communicate(timeout=60)

    assert first_log.exists(), stderr[-2000:]
    assert up.returncode == 143, stderr[-2000:]
    assert "stopped before the platform was ready" in stderr
    assert "Traceback" not in stderr
    assert _platform_ids() <= before
