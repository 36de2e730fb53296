"""Customer API: POST (fresh keys) and GET, through the gateway and direct.

Beside a bare functions-framework handler doing one Firestore write, served
with the same workers, threads and environment, loaded alike in the same run
after a warm-up. Each POST is a new customer with its own idempotency key:
accounts are imported into the Auth emulator in bulk first, and their tokens
minted in the emulator's unsigned form (emulators/identity.py).
The aims, judged on the function served directly: POST at 40% or more of the
bare handler's throughput, GET at 70% or more. Two floor handlers
(`floors.py`) are loaded alike: they make only the calls a GET and a POST
require, with no product code. Their ratios to the bare handler are the most
any implementation can reach on this machine; the function's ratios to them
are what the product's own code costs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
import uuid
from collections.abc import Callable

from bench.bare import bare_handler
from bench.cpu import CpuMeter, MeteredLoad, metered_load, print_cpu_table
from bench.floors import CUSTOMER_GET_FLOOR, CUSTOMER_POST_FLOOR
from bench.load import LoadResult, Request, run_load
from bench.platforms import bench_platform
from bench.report import print_table, write_json
from emulators.identity import Identity, unsigned_token
from emulators.platform import Platform

# TODO: measured POST at 0.18-0.25x and GET at 0.42-0.52x the bare handler's
# throughput (aims 0.4x and 0.7x). No implementation reaches them here: the
# floors, making only the calls the issue requires with no product code,
# reach 0.32-0.38x (POST) and 0.44-0.48x (GET). The GET floor without the
# revocation look-up that the issue requires reached 0.80x in a separate
# run: that one call more than halves it. The API reaches 0.57-0.66x (POST)
# and 0.96-1.09x (GET) of the floors - aims measured against the floors
# remove it.
POST_AIM = 0.4
GET_AIM = 0.7
CONNECTIONS = 8
REQUESTS = 800
WARMUP_REQUESTS = 100
MAX_SECONDS = 60.0
IMPORT_BATCH = 1000
BARE = "bare one-write handler"
GET_FLOOR = "GET floor"
POST_FLOOR = "POST floor"
_phones = itertools.count(10_000_000)


def main(args: argparse.Namespace) -> int:
    """Serve the API and the bare handler, load each alike, print the ratios."""
    with bench_platform("customers") as platform:
        function = platform.catalog.function("customers")  # type: ignore[union-attr]
        with (
            bare_handler(platform, function) as bare,
            bare_handler(platform, function, CUSTOMER_GET_FLOOR) as get_floor,
            bare_handler(platform, function, CUSTOMER_POST_FLOOR) as post_floor,
        ):
            handlers = {BARE: bare, GET_FLOOR: get_floor, POST_FLOOR: post_floor}
            meter = CpuMeter.for_platform(
                platform, **{name: h.pid for name, h in handlers.items()}
            )
            ports = {name: h.port for name, h in handlers.items()}
            results = _measure(platform, meter, platform.function_port(function), ports)
    _report(results)
    return 0


def _measure(
    platform: Platform, meter: CpuMeter, port: int, handlers: dict[str, int]
) -> dict[str, MeteredLoad]:
    gateway = platform.config.ports["gateway"]
    tokens = _import_accounts(platform, 2 * REQUESTS + WARMUP_REQUESTS + 1)
    reader = tokens.pop()
    _create(platform, reader)
    posts = _post_requests(tokens)
    get = _get_requests(reader)
    bare = _bare_requests()
    floor_posts = _floor_post_requests(reader)
    bare_port = handlers[BARE]

    for target, make in (
        (bare_port, bare),
        (port, get),
        (handlers[GET_FLOOR], get),
        (handlers[POST_FLOOR], floor_posts),
    ):
        run_load(target, make, connections=CONNECTIONS, max_requests=WARMUP_REQUESTS)

    def load(target: int, make: Callable[[int], Request]) -> MeteredLoad:
        return metered_load(
            meter,
            target,
            make,
            connections=CONNECTIONS,
            max_requests=REQUESTS,
            max_seconds=MAX_SECONDS,
        )

    # GETs first: each POST, the floor's too, publishes an event, and the
    # Pub/Sub emulator's work on delivering it would still be running beside
    # them.
    results = {
        BARE: load(bare_port, bare),
        GET_FLOOR: load(handlers[GET_FLOOR], get),
        "GET direct": load(port, get),
        "GET via gateway": load(gateway, get),
        POST_FLOOR: load(handlers[POST_FLOOR], floor_posts),
    }
    run_load(port, posts, connections=CONNECTIONS, max_requests=WARMUP_REQUESTS)
    results["POST direct"] = load(port, posts)
    results["POST via gateway"] = load(gateway, posts)
    return results


def _import_accounts(platform: Platform, count: int) -> list[tuple[str, str]]:
    from firebase_admin import auth

    # The Admin SDK finds the emulator through the environment only.
    os.environ.update(platform.environment())
    host = f"127.0.0.1:{platform.config.ports['auth']}"
    app = Identity(host, platform.config.project_id).admin_app()
    run = uuid.uuid4().hex[:8]
    uids = [f"bench{run}{index:06d}" for index in range(count)]
    for start in range(0, count, IMPORT_BATCH):
        records = [
            auth.ImportUserRecord(uid) for uid in uids[start : start + IMPORT_BATCH]
        ]
        result = auth.import_users(records, app=app)
        if result.failure_count:
            raise SystemExit(f"customers_api: {result.failure_count} imports failed")
    # Issued a second after the import, so that no token predates its
    # account's tokens-valid-after time.
    time.sleep(1.1)
    project = platform.config.project_id
    return [(uid, unsigned_token(project, uid)) for uid in uids]


def profile_body(index: int) -> bytes:
    """A valid `POST /v1/customers` body with a unique e-mail and phone."""
    body = {
        "given_name": "Bench",
        "family_name": "Customer",
        "email": f"bench.{uuid.uuid4().hex}@example.com",
        "phone": f"+4474{next(_phones):08d}",
        "date_of_birth": "1980-01-31",
        "country": "GB",
        "address": {
            "line1": f"{index} Bench Road",
            "city": "London",
            "postal_code": "N1 9GU",
            "country": "GB",
        },
        "terms_version": "2026-10",
    }
    return json.dumps(body).encode()


def _post_requests(tokens: list[tuple[str, str]]) -> Callable[[int], Request]:
    def make(index: int) -> Request:
        _, token = tokens.pop()
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        return Request("POST", "/v1/customers", headers, profile_body(index))

    return make


def _get_requests(reader: tuple[str, str]) -> Callable[[int], Request]:
    uid, token = reader
    headers = {"Authorization": f"Bearer {token}"}

    def make(index: int) -> Request:
        return Request("GET", f"/v1/customers/{uid}", headers)

    return make


def _floor_post_requests(reader: tuple[str, str]) -> Callable[[int], Request]:
    # The floor checks the token and writes fresh documents whoever calls:
    # one account serves every request.
    headers = {
        "Authorization": f"Bearer {reader[1]}",
        "Content-Type": "application/json",
        "Idempotency-Key": "floor",
    }

    def make(index: int) -> Request:
        return Request("POST", "/", headers, profile_body(index))

    return make


def _bare_requests() -> Callable[[int], Request]:
    def make(index: int) -> Request:
        return Request("POST", "/", {"Content-Type": "application/json"}, b"{}")

    return make


def _create(platform: Platform, reader: tuple[str, str]) -> None:
    import urllib.request

    request = urllib.request.Request(  # noqa: S310
        f"{platform.config.url('gateway')}/v1/customers",
        data=profile_body(0),
        headers={
            "Authorization": f"Bearer {reader[1]}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        if response.status != 201:
            raise SystemExit(f"customers_api: setup answered {response.status}")


def _report(metered: dict[str, MeteredLoad]) -> None:
    results = {name: run.result for name, run in metered.items()}
    bare = results[BARE]
    rows = [
        [
            name,
            r.requests,
            r.errors,
            r.requests_per_s,
            r.p50_ms,
            r.p99_ms,
            round(r.requests_per_s / bare.requests_per_s, 2),
        ]
        for name, r in results.items()
    ]
    print_table(
        f"customer API, {CONNECTIONS} keep-alive connections",
        ["target", "requests", "errors", "requests/s", "p50 ms", "p99 ms", "ratio"],
        rows,
    )
    print_cpu_table("CPU ms per request by process", metered)
    post = _ratio(results, "POST direct", BARE)
    get = _ratio(results, "GET direct", BARE)
    floors = {
        "GET floor/bare": _ratio(results, GET_FLOOR, BARE),
        "GET direct/GET floor": _ratio(results, "GET direct", GET_FLOOR),
        "POST floor/bare": _ratio(results, POST_FLOOR, BARE),
        "POST direct/POST floor": _ratio(results, "POST direct", POST_FLOOR),
    }
    print(
        f"POST ratio {post} (aim >= {POST_AIM}: {_verdict(post, POST_AIM)}), "
        f"GET ratio {get} (aim >= {GET_AIM}: {_verdict(get, GET_AIM)}); "
        + ", ".join(f"{name} {ratio}" for name, ratio in floors.items())
    )
    write_json(
        "customers_api",
        {
            "connections": CONNECTIONS,
            "post_ratio": post,
            "get_ratio": get,
            "aims": {"post_ratio": POST_AIM, "get_ratio": GET_AIM},
            "floor_ratios": floors,
            "results": {name: run.to_dict() for name, run in metered.items()},
        },
    )


def _ratio(results: dict[str, LoadResult], name: str, to: str) -> float:
    return round(results[name].requests_per_s / results[to].requests_per_s, 2)


def _verdict(ratio: float, aim: float) -> str:
    return "ok" if ratio >= aim else "under"
