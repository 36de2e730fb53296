"""Child processes: a failed start names the service and shows its log."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from emulators.processes import (
    ManagedProcess,
    StartCancelledError,
    StartupError,
    port_bindable,
    port_in_use,
)


def _never_ready() -> bool:
    return False


def test_wait_ready_process_that_exits_raises_with_log_tail(tmp_path: Path) -> None:
    process = ManagedProcess(
        "firestore",
        ["sh", "-c", "echo starting; echo 'address already in use' >&2; exit 3"],
        tmp_path / "firestore.log",
        _never_ready,
    )
    process.start()

    with pytest.raises(StartupError) as raised:
        process.wait_ready(time.monotonic() + 10)

    message = str(raised.value)
    assert message.startswith("firestore exited with code 3")
    assert "address already in use" in message
    assert str(tmp_path / "firestore.log") in message


def test_wait_ready_process_never_ready_times_out_and_stops(tmp_path: Path) -> None:
    process = ManagedProcess(
        "auth", ["sleep", "30"], tmp_path / "auth.log", _never_ready
    )
    process.start()

    with pytest.raises(StartupError, match="auth was not ready in time"):
        process.wait_ready(time.monotonic() + 0.3)
    process.stop(grace_s=1)

    assert process.exit_code is not None


def test_wait_ready_stops_waiting_once_a_stop_is_requested(tmp_path: Path) -> None:
    process = ManagedProcess(
        "pubsub", ["sleep", "30"], tmp_path / "pubsub.log", _never_ready
    )
    process.start()
    requested = threading.Event()
    threading.Timer(0.2, requested.set).start()

    began = time.monotonic()
    with pytest.raises(StartCancelledError, match="stopped while pubsub"):
        process.wait_ready(began + 30, requested)
    process.stop(grace_s=1)

    assert time.monotonic() - began < 5
    assert process.exit_code is not None


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    process = ManagedProcess(
        "wrapper",
        ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"],
        tmp_path / "wrapper.log",
        pid_file.exists,
    )
    process.start()
    process.wait_ready(time.monotonic() + 10)
    grandchild = int(pid_file.read_text())

    process.stop(grace_s=1)

    time.sleep(0.1)
    status = Path(f"/proc/{grandchild}/status")
    assert not status.exists() or "zombie" in status.read_text()


def test_port_checks_see_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert port_in_use(port)
        assert not port_bindable(port)
