"""Bare: the baseline handler of the HTTP benchmarks, one Firestore write each.

A bare functions-framework function that writes one new document per
request, served like the function it is compared with: the same environment,
workers and threads, against the same Firestore emulator. Other bare
handlers (``floors.py``) are served the same way from their own source.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from emulators.platform import Platform
from emulators.processes import port_in_use
from triggers import FunctionDefinition

BARE_HANDLER = """\
import uuid

import functions_framework
from google.cloud import firestore

_client = firestore.Client()


@functions_framework.http
def bare(request):
    request.get_data()
    _client.collection("bench_bare").document(uuid.uuid4().hex).create({"n": 1})
    return ("", 200)
"""


@dataclass(frozen=True)
class BareHandler:
    """A served bare handler: its port, and its pid, which leads its session."""

    port: int
    pid: int


@contextlib.contextmanager
def bare_handler(
    platform: Platform, like: FunctionDefinition, code: str = BARE_HANDLER
) -> Iterator[BareHandler]:
    """Serve a bare handler, `bare` in ``code``, as `like` is served."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "bare.py"
        source.write_text(code)
        port = _free_port()
        argv = [
            sys.executable, "-m", "functions_framework",
            "--source", str(source), "--target", "bare",
            "--signature-type", "http",
            "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
        process = subprocess.Popen(
            argv,
            env=platform.function_env(like, port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            _wait_for_port(port)
            yield BareHandler(port, process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _wait_for_port(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_in_use(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"bare handler: nothing listens on {port}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
