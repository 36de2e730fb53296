"""Load: a bounded HTTP load generator on keep-alive connections to loopback.

Each of ``connections`` threads keeps one HTTP/1.1 connection open and sends
requests one after another until ``max_requests`` have been sent in all or
``max_seconds`` have passed, whichever comes first. Only 127.0.0.1 is a
target: benchmarks never load anything but this machine.

Usage::

    result = run_load(8080, lambda i: Request("POST", "/v1/x", {}, b"{}"))
    print(result.requests_per_s, result.p50_ms, result.p99_ms, result.errors)
"""

from __future__ import annotations

import http.client
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

LOOPBACK = "127.0.0.1"
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Request:
    """One request to send: method, path with query, headers and body."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class LoadResult:
    """What a run measured; latencies of every request, errors included."""

    requests: int
    errors: int
    duration_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready values."""
        return asdict(self)


@dataclass
class _Tally:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency_s: float, status: int | None) -> None:
        with self.lock:
            self.latencies_s.append(latency_s)
            if status is None or not 200 <= status < 300:
                self.errors += 1
            if status is not None:
                self.statuses[status] = self.statuses.get(status, 0) + 1


def run_load(
    port: int,
    make_request: Callable[[int], Request],
    *,
    connections: int = 8,
    max_requests: int = 2000,
    max_seconds: float = 30.0,
) -> LoadResult:
    """Send requests built by ``make_request(index)`` to 127.0.0.1:``port``.

    Building a request (signing it, say) happens in the sending thread but
    outside the timed part. A connection that fails is counted as an error
    and opened again.
    """
    if max_requests < 1 or connections < 1 or max_seconds <= 0:
        raise ValueError("a load run needs requests, connections and time")

    tally = _Tally()
    counter = itertools.count()
    deadline = time.monotonic() + max_seconds
    started = time.perf_counter()
    threads = [
        threading.Thread(
            target=_send_until_done,
            args=(port, make_request, counter, max_requests, deadline, tally),
            daemon=True,
        )
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _result(tally, time.perf_counter() - started)


def _send_until_done(
    port: int,
    make_request: Callable[[int], Request],
    counter: itertools.count[int],
    max_requests: int,
    deadline: float,
    tally: _Tally,
) -> None:
    connection = _connect(port)
    try:
        # next() on itertools.count is atomic under the GIL.
        while (index := next(counter)) < max_requests and time.monotonic() < deadline:
            request = make_request(index)
            began = time.perf_counter()
            status = _send(connection, request)
            tally.add(time.perf_counter() - began, status)
            if status is None:
                connection.close()
                connection = _connect(port)
    finally:
        connection.close()


def _connect(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT_S)


def _send(connection: http.client.HTTPConnection, request: Request) -> int | None:
    try:
        connection.request(
            request.method, request.path, body=request.body, headers=request.headers
        )
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        return None
    return response.status


def _result(tally: _Tally, duration_s: float) -> LoadResult:
    latencies = sorted(tally.latencies_s)
    count = len(latencies)
    return LoadResult(
        requests=count,
        errors=tally.errors,
        duration_s=round(duration_s, 3),
        requests_per_s=round(count / duration_s, 1) if duration_s else 0.0,
        p50_ms=_percentile_ms(latencies, 0.50),
        p99_ms=_percentile_ms(latencies, 0.99),
        statuses=dict(sorted(tally.statuses.items())),
    )


def _percentile_ms(ordered: list[float], fraction: float) -> float:
    # Nearest rank: the smallest latency that `fraction` of requests beat.
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))
    return round(ordered[min(rank, len(ordered)) - 1] * 1000, 2)
