"""Payment webhooks: signed Stripe deliveries beside a bare one-write handler.

The function under test is `payment_webhooks` as the platform serves it,
sent `charge.succeeded` events that are each signed, with unique event ids
and payments, so that every request records, derives, commits and publishes.
The baseline is a bare functions-framework handler, served with the same
workers and threads against the same Firestore emulator, doing one
`create()` per request. Both are loaded alike, in the same run, after a
warm-up, in rounds (`--runs`, default 5) that rotate which goes first; the
ratios reported are the medians of the rounds'. The aims: at least half the
baseline's throughput, and a p99 no worse than twice the baseline's.

A third handler, the floor (`floors.py`), is loaded alike: it makes only the
calls the webhook contract requires, with no product code. Its ratios to the
baseline are the most any implementation can reach on this machine; the
function's ratios to the floor are what the product's own code costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable

from bench.bare import bare_handler
from bench.cpu import CpuMeter, MeteredLoad, metered_load, print_cpu_table
from bench.floors import WEBHOOK_FLOOR
from bench.load import Request, run_load
from bench.platforms import bench_platform
from bench.report import print_table, write_json
from emulators.config import ROOT
from emulators.demo_secrets import demo_value
from emulators.platform import Platform
from triggers import FunctionDefinition

# TODO: measured 0.24-0.25x the bare handler's throughput and 3.1-3.2x its
# p99 (aims 0.5x and 2x). The throughput aim is out of reach here: the
# floor handler, which only reads the payment, commits the record with it
# and publishes, with no product code, reaches 0.44-0.46x (p99 1.7-1.9x);
# its one process spends twice the bare handler's CPU on those calls alone.
# The function reaches 0.56x of the floor - an aim measured against the
# floor, or a baseline making the calls the contract requires, removes it.
THROUGHPUT_AIM = 0.5
P99_AIM = 2.0
CONNECTIONS = 8
REQUESTS = 1000
WARMUP_REQUESTS = 150
MAX_SECONDS = 60.0
BARE = "bare"
FLOOR = "floor"
FUNCTION = "payment_webhooks"


def main(args: argparse.Namespace) -> int:
    """Serve the three handlers, load each alike and print the ratios."""
    with bench_platform("payment_webhooks") as platform:
        function = _function(platform)
        with (
            bare_handler(platform, function) as bare,
            bare_handler(platform, function, WEBHOOK_FLOOR) as floor,
        ):
            meter = CpuMeter.for_platform(platform, bare=bare.pid, floor=floor.pid)
            ports = {
                BARE: bare.port,
                FLOOR: floor.port,
                FUNCTION: platform.function_port(function),
            }
            rounds = _measure(meter, ports, max(args.runs, 1))

    _report(rounds)
    return 0


Round = dict[str, MeteredLoad]


def _measure(meter: CpuMeter, ports: dict[str, int], rounds: int) -> list[Round]:
    # Other work on the machine comes and goes: rounds rotate which handler
    # goes first, and each round's ratios compare neighbours in time.
    stripe = _stripe_requests(demo_value("stripe-webhook-secret"))
    targets = {
        name: (port, stripe if name == FUNCTION else _bare_requests())
        for name, port in ports.items()
    }
    for target_port, make in targets.values():
        run_load(
            target_port, make, connections=CONNECTIONS, max_requests=WARMUP_REQUESTS
        )

    names = list(targets)
    measured = []
    for index in range(rounds):
        shift = index % len(names)
        measured.append(
            {
                name: metered_load(
                    meter,
                    targets[name][0],
                    targets[name][1],
                    connections=CONNECTIONS,
                    max_requests=REQUESTS,
                    max_seconds=MAX_SECONDS,
                )
                for name in names[shift:] + names[:shift]
            }
        )
    return measured


def _stripe_requests(secret: str) -> Callable[[int], Request]:
    import stripe

    template = json.loads(
        (ROOT / "tests/samples/payments/stripe/charge.succeeded.json").read_text()
    )

    def make(index: int) -> Request:
        # Unique across the warm-up and every round: a repeated id would
        # measure the redelivery path instead.
        unique = uuid.uuid4().hex
        event = json.loads(json.dumps(template))
        event["id"] = f"evt_bench_{unique}"
        event["created"] = int(time.time())
        event["data"]["object"]["payment_intent"] = f"pi_bench_{unique}"
        body = json.dumps(event, separators=(",", ":"))
        header = stripe.WebhookSignature.generate_signature_header(body, secret)
        headers = {"Stripe-Signature": header, "Content-Type": "application/json"}
        return Request("POST", "/v1/webhooks/stripe", headers, body.encode())

    return make


def _bare_requests() -> Callable[[int], Request]:
    def make(index: int) -> Request:
        return Request("POST", "/", {"Content-Type": "application/json"}, b"{}")

    return make


def _function(platform: Platform) -> FunctionDefinition:
    assert platform.catalog is not None
    return platform.catalog.function("payment_webhooks")


def _report(rounds: list[Round]) -> None:
    rows = []
    for index, metered in enumerate(rounds, start=1):
        rows += [
            [index, name, r.requests, r.errors, r.requests_per_s, r.p50_ms, r.p99_ms]
            for name, r in sorted((n, run.result) for n, run in metered.items())
        ]
    ratios = {
        pair: _median_ratios(rounds, *pair)
        for pair in ((FUNCTION, BARE), (FLOOR, BARE), (FUNCTION, FLOOR))
    }
    throughput, p99 = ratios[FUNCTION, BARE]

    print_table(
        f"signed Stripe webhooks, {CONNECTIONS} keep-alive connections",
        ["round", "handler", "requests", "errors", "requests/s", "p50 ms", "p99 ms"],
        rows,
    )
    print_cpu_table(
        "CPU ms per request by process, round by round",
        {
            f"{index} {name}": run
            for index, metered in enumerate(rounds, start=1)
            for name, run in sorted(metered.items())
        },
    )
    print_table(
        f"median ratios of {len(rounds)} rounds",
        ["handler", "to", "throughput ratio", "p99 ratio"],
        [[a, b, t, p] for (a, b), (t, p) in ratios.items()],
    )
    print(
        f"throughput ratio {throughput} "
        f"(aim >= {THROUGHPUT_AIM}: {_verdict(throughput >= THROUGHPUT_AIM)}), "
        f"p99 ratio {p99} (aim <= {P99_AIM}: {_verdict(p99 <= P99_AIM)}); "
        f"the floor's: {ratios[FLOOR, BARE][0]} and {ratios[FLOOR, BARE][1]}"
    )
    write_json(
        "payment_webhooks",
        {
            "connections": CONNECTIONS,
            "throughput_ratio": throughput,
            "p99_ratio": p99,
            "aims": {"throughput_ratio": THROUGHPUT_AIM, "p99_ratio": P99_AIM},
            "ratios": {
                f"{a}/{b}": {"throughput": t, "p99": p}
                for (a, b), (t, p) in ratios.items()
            },
            "rounds": [
                {name: run.to_dict() for name, run in metered.items()}
                for metered in rounds
            ],
        },
    )


def _median_ratios(rounds: list[Round], name: str, to: str) -> tuple[float, float]:
    """Return the medians of the rounds' throughput and p99 ratios."""
    pairs = [(metered[name].result, metered[to].result) for metered in rounds]
    throughput = statistics.median(
        a.requests_per_s / b.requests_per_s for a, b in pairs
    )
    p99 = statistics.median(a.p99_ms / b.p99_ms for a, b in pairs)
    return round(throughput, 2), round(p99, 2)


def _verdict(met: bool) -> str:
    return "ok" if met else "missed"
