"""Child processes of the platform, each in its own process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ReadyCheck = Callable[[], bool]
LOG_TAIL_LINES = 30


class StartupError(Exception):
    """A service did not become ready; the message holds the tail of its log."""


class StartCancelledError(Exception):
    """A stop was asked for while the platform was starting."""


@dataclass
class ManagedProcess:
    """A service started in its own session so that its whole tree can be ended.

    `gcloud` and `firebase` wrappers fork java and node children: ending only
    the parent would leave the children holding their ports (EMULATORS.md).
    """

    name: str
    argv: Sequence[str]
    log_path: Path
    ready: ReadyCheck
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process with its output going to its own log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                cwd=self.cwd,
                start_new_session=True,
            )

    def wait_ready(
        self, deadline: float, cancelled: threading.Event | None = None
    ) -> None:
        """Poll the readiness check until it passes or the deadline passes.

        Raises:
            StartupError: the process exited, or was not ready in time.
            StartCancelledError: ``cancelled`` was set while it waited.
        """
        while time.monotonic() < deadline:
            if cancelled is not None and cancelled.is_set():
                raise StartCancelledError(f"stopped while {self.name} was starting")
            if self.process is not None and self.process.poll() is not None:
                raise StartupError(self._failure("exited with code", self.exit_code))
            if self.ready():
                return
            time.sleep(0.05)
        raise StartupError(self._failure("was not ready in time", None))

    @property
    def exit_code(self) -> int | None:
        """The exit code, or None while the process runs."""
        return None if self.process is None else self.process.poll()

    def stop(self, grace_s: float = 5.0) -> None:
        """End the whole process group: SIGTERM, then SIGKILL after the grace."""
        if self.process is None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)
        # Children that ignored SIGTERM (a JVM mid-shutdown) go with the group.
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the log, for an error message."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _failure(self, what: str, code: int | None) -> str:
        suffix = f" {code}" if code is not None else ""
        return (
            f"{self.name} {what}{suffix}; log {self.log_path}, last lines:\n"
            f"{self.log_tail()}"
        )


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def http_ok(url: str, timeout_s: float = 0.5) -> ReadyCheck:
    """A readiness check that passes when `url` answers a GET below 500."""

    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
                return int(response.status) < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except (OSError, ValueError):
            return False

    return check


def port_open(port: int, host: str = "127.0.0.1") -> ReadyCheck:
    """A readiness check that passes when something accepts on the port."""

    def check() -> bool:
        return port_in_use(port, host)

    return check


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether a TCP listener accepts connections on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether the port is free to listen on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers do, so that a port in TIME_WAIT after a restart is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
