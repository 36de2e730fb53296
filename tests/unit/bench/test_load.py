"""The load generator against a small server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.load import Request, run_load


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        status = 503 if self.path == "/fail" else 204
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def port() -> Iterator[int]:
    """A threaded HTTP server on an ephemeral loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_run_load_sends_exactly_the_requested_count(port: int) -> None:
    result = run_load(
        port, lambda i: Request("POST", "/ok", body=b"{}"), connections=3,
        max_requests=60,
    )  # fmt: skip

    assert (result.requests, result.errors) == (60, 0)
    assert result.statuses == {204: 60}
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.requests_per_s > 0


def test_run_load_counts_non_2xx_as_errors(port: int) -> None:
    result = run_load(
        port, lambda i: Request("POST", "/fail" if i % 2 else "/ok"), connections=2,
        max_requests=20,
    )  # fmt: skip

    assert (result.requests, result.errors) == (20, 10)


def test_run_load_stops_at_the_time_bound(port: int) -> None:
    result = run_load(
        port, lambda i: Request("POST", "/ok"), connections=2,
        max_requests=10_000_000, max_seconds=0.3,
    )  # fmt: skip

    assert result.requests < 10_000_000
    assert result.duration_s < 5


def test_run_load_refused_connection_is_an_error_not_a_hang() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = int(probe.getsockname()[1])

    result = run_load(closed, lambda i: Request("POST", "/"), max_requests=4)

    assert (result.requests, result.errors) == (4, 4)
