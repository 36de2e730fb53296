"""Cold start: a fresh process per function until its first 2xx, beside bare ones.

Two baselines, both bare functions-framework functions of the same signature
that import the same Google client libraries:

- `idle` does nothing;
- `same call` makes the calls the function's own first request must make
  before it can answer (for `dead_letters`, one Firestore `create()`; for
  `payment_webhooks`, a `create()` and a Pub/Sub publish), named by the
  sample's `first_call`.

The aim, no function above 1.2 times its baseline, is judged against `same
call`: what it measures is what the function adds by its imports and its
set-up, which lazy clients and lean imports keep small. Against `idle`, the
first round trip to Firestore alone (a new channel, about 90 ms here) would
count as overhead that no code can remove. Both ratios are printed.

A third handler, the floor, is `same call` that also imports pydantic and
builds one model, as every function must to validate its input, and makes
its imports with the garbage collector paused, as every function does
(`common.startup`). Its ratio to `same call` is what pydantic and the pause
come to together before any product code; the function's ratio to it is
what the product's own modules cost.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import BENCH_PORT_OFFSET
from bench.cpu import CpuMeter, wait_until_quiet
from bench.report import median_ms, print_table, write_json
from emulators.config import ROOT, PlatformConfig
from emulators.platform import Platform
from triggers import FunctionDefinition

SAMPLES = Path(__file__).resolve().parent / "samples"
AIM = 1.2
FIRST_ANSWER_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Sample:
    """The request that wakes one function, and the libraries it imports."""

    libraries: tuple[str, ...]
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    first_call: str | None
    # Whether the request is a customer's: `{uid}` and `{id_token}` in the
    # path and headers then name an account with a profile (`as_customer`).
    customer: bool = False

    @classmethod
    def load(cls, function: FunctionDefinition) -> Sample:
        """Read `samples/<function>.json`; every function needs one."""
        path = SAMPLES / f"{function.name}.json"
        if not path.is_file():
            raise SystemExit(f"cold_start: add {path} with a request for it")
        document = json.loads(path.read_text())
        body = document.get("body")
        return cls(
            libraries=tuple(document["libraries"]),
            method=document["method"],
            path=document["path"],
            headers=document["headers"],
            body=b"" if body is None else json.dumps(body).encode(),
            first_call=document.get("first_call"),
            customer=bool(document.get("customer", False)),
        )

    def as_customer(self, uid: str, id_token: str) -> Sample:
        """The sample with `{uid}` and `{id_token}` filled in."""

        def fill(text: str) -> str:
            return text.replace("{uid}", uid).replace("{id_token}", id_token)

        headers = {name: fill(value) for name, value in self.headers.items()}
        return replace(self, path=fill(self.path), headers=headers, customer=False)

    def unique(self) -> tuple[dict[str, str], bytes]:
        """Headers and body with `{unique}` replaced by a fresh id."""
        marker = uuid.uuid4().hex
        headers = {k: v.replace("{unique}", marker) for k, v in self.headers.items()}
        body = self.body.replace(b"{unique}", marker.encode())
        return _signed(headers, body), body


# A webhook's request must be signed when it is sent; a sample asks for it by
# this header value, and gets a signature made with the local demo secret.
STRIPE_SIGNATURE_PLACEHOLDER = "{stripe_signature}"


def _signed(headers: dict[str, str], body: bytes) -> dict[str, str]:
    if headers.get("Stripe-Signature") != STRIPE_SIGNATURE_PLACEHOLDER:
        return headers

    import stripe

    from emulators.demo_secrets import demo_value

    secret = demo_value("stripe-webhook-secret")
    signature = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    return {**headers, "Stripe-Signature": signature}


_FIRESTORE_CREATE = (
    "    from google.cloud import firestore\n"
    "    firestore.Client().collection('bench_cold_start')"
    ".document(uuid.uuid4().hex).create({'at': 0})\n"
)

# What the floor adds to `same call`: pydantic, and one model built; all its
# imports made with the collector paused, as the functions make theirs
# (common/startup.py), written out so that the floor runs no product code.
PYDANTIC_FLOOR = (
    "import pydantic  # noqa: F401\n\n\n"
    "class Checked(pydantic.BaseModel):\n"
    "    name: str = pydantic.Field(min_length=1)\n"
)
PAUSE_COLLECTOR = "import gc\ngc.disable()\n"
RESUME_COLLECTOR = "gc.freeze()\ngc.enable()\n"

# The bodies a `same call` baseline runs before it answers, by `first_call`.
FIRST_CALLS = {
    None: "",
    "firestore.create": _FIRESTORE_CREATE,
    # A webhook records, then publishes the payment's event before it answers.
    "firestore.create+pubsub.publish": _FIRESTORE_CREATE
    + (
        "    import os\n"
        "    from google.cloud import pubsub_v1\n"
        "    publisher = pubsub_v1.PublisherClient()\n"
        "    publisher.publish(publisher.topic_path(\n"
        "        os.environ['GOOGLE_CLOUD_PROJECT'], 'payment-events'), b'{}'\n"
        "    ).result()\n"
    ),
    # The customer API verifies the ID token, with the revocation look-up,
    # then reads the caller's profile.
    "firebase.verify_id_token+firestore.get": (
        "    import os\n"
        "    import firebase_admin\n"
        "    from firebase_admin import auth\n"
        "    from google.cloud import firestore\n"
        "    token = request.headers['Authorization'].partition(' ')[2]\n"
        "    app = firebase_admin.initialize_app(\n"
        "        options={'projectId': os.environ['GOOGLE_CLOUD_PROJECT']})\n"
        "    uid = auth.verify_id_token(token, app=app, check_revoked=True)['uid']\n"
        "    firestore.Client().collection('customers').document(uid).get()\n"
    ),
    # One streaming insert, as bigquery_loader makes, into a table the
    # platform's bootstrap created; the emulator's address as the function's.
    "bigquery.insert_rows_json": (
        "    import os\n"
        "    from google.api_core.client_options import ClientOptions\n"
        "    from google.auth.credentials import AnonymousCredentials\n"
        "    from google.cloud import bigquery\n"
        "    bigquery.Client(\n"
        "        project=os.environ['GOOGLE_CLOUD_PROJECT'],\n"
        "        credentials=AnonymousCredentials(),\n"
        "        client_options=ClientOptions(\n"
        "            api_endpoint=os.environ['BIGQUERY_EMULATOR_HOST']),\n"
        "    ).insert_rows_json('crm_analytics.dead_letters',\n"
        "        [{'message_id': uuid.uuid4().hex}])\n"
    ),
}


def main(args: argparse.Namespace) -> int:
    """Measure every function of the catalogue and print the ratios."""
    config = PlatformConfig(state_dir=ROOT / ".local" / "bench-platform")
    with Platform(config.with_offset(BENCH_PORT_OFFSET)) as platform:
        waited = wait_until_quiet(CpuMeter.for_platform(platform))
        print(f"cold_start: the platform was quiet after {waited:.1f} s")
        rows, figures = [], {}
        with tempfile.TemporaryDirectory() as scratch:
            for function in platform.functions:
                result = _measure(platform, function, Path(scratch), args.runs)
                figures[function.name] = result
                rows.append(_row(function.name, result))

    print_table(
        f"cold start, median of {args.runs}, until the first 2xx",
        [
            "function",
            "function ms",
            "same call ms",
            "ratio",
            f"aim <= {AIM}",
            "idle ms",
            "ratio to idle",
            "floor ms",
            "floor ratio",
            "ratio to floor",
        ],
        rows,
    )
    write_json("cold_start", {"runs": args.runs, "aim": AIM, "functions": figures})
    return 0


def _measure(
    platform: Platform, function: FunctionDefinition, scratch: Path, runs: int
) -> dict[str, Any]:
    sample = Sample.load(function)
    if sample.customer:
        sample = sample.as_customer(*_customer(platform))
    same_call = _write_baseline(function, sample, scratch, sample.first_call)
    idle = _write_baseline(function, sample, scratch, None)
    floor = _write_baseline(function, sample, scratch, sample.first_call, floor=True)
    source = ROOT / function.source
    handlers = [(source, None), (same_call, "bare"), (idle, "bare"), (floor, "bare")]
    # One round unmeasured first, as the HTTP benchmarks warm up: otherwise
    # whichever handler goes first pays for reading its files from disk.
    for path, target in handlers:
        _cold_start(platform, function, path, sample, target)

    served: list[float] = []
    bare: list[float] = []
    bare_idle: list[float] = []
    bare_floor: list[float] = []
    for _ in range(runs):
        for samples, (path, target) in zip(
            (served, bare, bare_idle, bare_floor), handlers, strict=True
        ):
            samples.append(_cold_start(platform, function, path, sample, target))

    function_ms, baseline_ms, idle_ms, floor_ms = map(
        median_ms, (served, bare, bare_idle, bare_floor)
    )
    return {
        "first_call": sample.first_call,
        "function_ms": function_ms,
        "baseline_ms": baseline_ms,
        "ratio": round(function_ms / baseline_ms, 2),
        "idle_baseline_ms": idle_ms,
        "ratio_to_idle": round(function_ms / idle_ms, 2),
        "floor_ms": floor_ms,
        "floor_ratio": round(floor_ms / baseline_ms, 2),
        "ratio_to_floor": round(function_ms / floor_ms, 2),
        "samples_ms": [round(s * 1000, 1) for s in served],
        "baseline_samples_ms": [round(s * 1000, 1) for s in bare],
        "idle_baseline_samples_ms": [round(s * 1000, 1) for s in bare_idle],
        "floor_samples_ms": [round(s * 1000, 1) for s in bare_floor],
    }


def _customer(platform: Platform) -> tuple[str, str]:
    """An account with a profile, made through the running platform."""
    from bench.customers_api import profile_body
    from emulators.identity import Identity

    host = f"127.0.0.1:{platform.config.ports['auth']}"
    identity = Identity(host, platform.config.project_id)
    account = identity.sign_up(f"cold.{uuid.uuid4().hex}@example.com", "cold-start-1")
    request = urllib.request.Request(  # noqa: S310
        f"{platform.config.url('gateway')}/v1/customers",
        data=profile_body(0),
        headers=account.headers(
            **{"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        ),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        if response.status != 201:
            raise SystemExit(f"cold_start: a profile answered {response.status}")
    return account.uid, account.token


def _row(name: str, result: dict[str, Any]) -> list[Any]:
    verdict = "ok" if result["ratio"] <= AIM else "over"
    return [
        name,
        result["function_ms"],
        result["baseline_ms"],
        result["ratio"],
        verdict,
        result["idle_baseline_ms"],
        result["ratio_to_idle"],
        result["floor_ms"],
        result["floor_ratio"],
        result["ratio_to_floor"],
    ]


def _write_baseline(
    function: FunctionDefinition,
    sample: Sample,
    scratch: Path,
    first_call: str | None,
    *,
    floor: bool = False,
) -> Path:
    if first_call not in FIRST_CALLS:
        raise SystemExit(f"cold_start: unknown first_call {first_call!r}")
    imports = "\n".join(
        f"import {library}  # noqa: F401" for library in sample.libraries
    )
    if floor:
        imports = f"{PAUSE_COLLECTOR}{imports}\n{PYDANTIC_FLOOR}{RESUME_COLLECTOR}"
    argument = "request" if function.signature_type == "http" else "event"
    decorator = "http" if function.signature_type == "http" else "cloud_event"
    answer = "('', 204)" if function.signature_type == "http" else "None"
    handler = (
        f"@functions_framework.{decorator}\ndef bare({argument}):\n"
        f"{FIRST_CALLS[first_call]}    return {answer}\n"
    )
    kind = "floor" if floor else "same_call" if first_call else "idle"
    path = scratch / f"bare_{function.name}_{kind}.py"
    path.write_text(
        f"import uuid\nimport functions_framework\n{imports}\n\n\n{handler}"
    )
    return path


def _cold_start(
    platform: Platform,
    function: FunctionDefinition,
    source: Path,
    sample: Sample,
    target: str | None = None,
) -> float:
    port = _free_port()
    argv = [
        sys.executable, "-m", "functions_framework",
        "--source", str(source),
        "--target", target or function.entry_point,
        "--signature-type", function.signature_type,
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    env = platform.function_env(function, port)
    headers, body = sample.unique()
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_2xx(f"http://127.0.0.1:{port}{sample.path}", sample, headers, body)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_for_2xx(
    url: str, sample: Sample, headers: dict[str, str], body: bytes
) -> None:
    deadline = time.monotonic() + FIRST_ANSWER_TIMEOUT_S
    while time.monotonic() < deadline:
        request = urllib.request.Request(  # noqa: S310
            url, data=body or None, headers=headers, method=sample.method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                if 200 <= response.status < 300:
                    return
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"cold_start: {url} answered {exc.code}") from exc
        except OSError:
            time.sleep(0.005)
    raise SystemExit(f"cold_start: {url} gave no 2xx in {FIRST_ANSWER_TIMEOUT_S} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
