"""The running local platform: emulators, functions, Eventarc and the gateway."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from emulators import demo_secrets
from emulators.bytecode import compile_sources
from emulators.config import ROOT, PlatformConfig
from emulators.processes import (
    ManagedProcess,
    StartCancelledError,
    StartupError,
    port_bindable,
    port_open,
)
from emulators.services import base_env, emulator_processes
from emulators.signer import KEY_FILE_ENV, signer_key_file
from emulators.wiring import wire
from triggers import Catalog, FunctionDefinition, HttpTrigger, load_catalog

logger = logging.getLogger("emulators")
PLATFORM_ID_ENV = "CRM_PLATFORM_ID"
# Wiring needs these; the functions, Auth and the gateway may still be starting.
WIRED_SERVICES = ("pubsub", "storage", "bigquery")


class PortInUseError(Exception):
    """A port the platform needs is taken; the message names its service."""


@dataclass
class Platform:
    """Start and stop the whole local platform as Google Cloud wires it.

    Use it as a context manager: whatever started is stopped on exit, even
    when starting failed halfway.
    """

    config: PlatformConfig = field(default_factory=PlatformConfig)
    catalog: Catalog | None = None
    platform_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    processes: list[ManagedProcess] = field(default_factory=list)
    started_in_s: float | None = None
    # Set from a signal handler to stop a start halfway. An exception raised
    # by the handler itself could land between a child's fork and the record
    # of its pid, and leave that child running; `start` checks this instead,
    # where it is safe to stop.
    stop_requested: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.catalog is None:
            self.catalog = load_catalog(self.config.definitions)

    @property
    def functions(self) -> tuple[FunctionDefinition, ...]:
        """The functions this platform serves."""
        assert self.catalog is not None
        return self.catalog.functions

    def function_port(self, function: FunctionDefinition) -> int:
        """The port a function is served on."""
        return self.config.function_port_base + self.functions.index(function)

    def function_url(self, function: FunctionDefinition) -> str:
        """The base URL a function is served on, without the gateway."""
        return f"http://127.0.0.1:{self.function_port(function)}"

    def environment(self) -> dict[str, str]:
        """The variables PRODUCT.md hands to commands run on the platform."""
        ports = self.config.ports
        return {
            "GOOGLE_CLOUD_PROJECT": self.config.project_id,
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{ports['firestore']}",
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{ports['pubsub']}",
            "STORAGE_EMULATOR_HOST": self.config.url("storage"),
            "BIGQUERY_EMULATOR_HOST": self.config.url("bigquery"),
            "FIREBASE_AUTH_EMULATOR_HOST": f"127.0.0.1:{ports['auth']}",
            "CRM_API_URL": self.config.url("gateway"),
            PLATFORM_ID_ENV: self.platform_id,
        }

    def start(self) -> None:
        """Start everything in parallel and wire the triggers.

        Raises:
            PortInUseError: before anything starts, when a port is taken.
            StartupError: when a service fails; all started ones are stopped.
            StartCancelledError: when `stop_requested` is set before it is
                ready.
        """
        began = time.monotonic()
        self._check_ports()
        self._write_routes()
        compile_sources(self._code_folders())
        self.processes = [
            *emulator_processes(self.config),
            *self._function_processes(),
            *self._router_processes(),
        ]
        for process in self.processes:
            self._check_stop_requested("starting")
            process.env = {**process.env, PLATFORM_ID_ENV: self.platform_id}
            process.start()

        deadline = began + self.config.ready_timeout_s
        self._wait(WIRED_SERVICES, deadline)
        self._check_stop_requested("wiring")
        assert self.catalog is not None
        wire(self.config, self.catalog)
        self._wait([p.name for p in self.processes], deadline)
        self.started_in_s = time.monotonic() - began

    def stop(self) -> None:
        """Stop every process group, in parallel, and wait for each."""
        with ThreadPoolExecutor(max_workers=max(len(self.processes), 1)) as pool:
            list(pool.map(lambda process: process.stop(), self.processes))

    def __enter__(self) -> Platform:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def endpoints(self) -> list[tuple[str, str]]:
        """Every service and function with the address it answers on."""
        rows = [
            (name, self.config.url(name))
            for name in ("gateway", "firestore", "pubsub", "storage", "bigquery")
        ]
        rows.append(("auth", self.config.url("auth")))
        rows.append(("eventarc", self.config.url("eventarc")))
        rows += [(f"function {f.name}", self.function_url(f)) for f in self.functions]
        return rows

    def _check_ports(self) -> None:
        wanted = dict(self.config.ports)
        wanted |= {f"function {f.name}": self.function_port(f) for f in self.functions}
        taken = [
            f"{port} ({name})"
            for name, port in wanted.items()
            if not port_bindable(port)
        ]
        if taken:
            raise PortInUseError(
                "ports in use: " + ", ".join(taken) + "; stop what holds them or "
                "choose other ports (--port-offset, --port NAME=PORT)"
            )

    def _wait(self, names: tuple[str, ...] | list[str], deadline: float) -> None:
        for process in self.processes:
            if process.name in names:
                process.wait_ready(deadline, self.stop_requested)

    def _check_stop_requested(self, step: str) -> None:
        if self.stop_requested.is_set():
            raise StartCancelledError(f"stopped while {step} the platform")

    def _code_folders(self) -> list[Path]:
        sources = {(ROOT / function.source).parent for function in self.functions}
        return [ROOT / "common", *sources]

    def _function_processes(self) -> list[ManagedProcess]:
        return [self._function_process(function) for function in self.functions]

    def _function_process(self, function: FunctionDefinition) -> ManagedProcess:
        port = self.function_port(function)
        argv = [
            sys.executable, "-m", "functions_framework",
            "--target", function.entry_point,
            "--source", str(ROOT / function.source),
            "--signature-type", function.signature_type,
            "--host", "127.0.0.1",
            "--port", str(port),
        ]  # fmt: skip
        return ManagedProcess(
            f"function {function.name}",
            argv,
            self.config.state_dir / "logs" / f"function-{function.name}.log",
            port_open(port),
            env=self.function_env(function, port),
        )

    def function_env(self, function: FunctionDefinition, port: int) -> dict[str, str]:
        """The environment a function gets, as a deployed one would."""
        service = function.service_name
        runtime = {
            "K_SERVICE": service,
            "K_REVISION": f"{service}-00001-local",
            "K_CONFIGURATION": service,
            "FUNCTION_TARGET": function.entry_point,
            "FUNCTION_SIGNATURE_TYPE": function.signature_type,
            "PORT": str(port),
            "CLOUD_RUN_TIMEOUT_SECONDS": str(function.timeout_s),
            "WORKERS": "1",
            "THREADS": str(function.concurrency),
        }
        secrets = demo_secrets.secret_env(function.secrets, self.config.secrets_env)
        platform = self.environment()
        platform.pop("CRM_API_URL")
        signer = signer_key_file(self.config.state_dir, self.config.project_id)
        platform[KEY_FILE_ENV] = str(signer)
        return base_env() | platform | dict(function.env) | secrets | runtime

    def _router_processes(self) -> list[ManagedProcess]:
        state = self.config.state_dir
        return [
            self._gunicorn(
                "eventarc",
                "emulators.eventarc:create_app()",
                {"CRM_PLATFORM_ROUTES": str(state / "eventarc-routes.json")},
            ),
            self._gunicorn(
                "gateway",
                "emulators.gateway:create_app()",
                {"CRM_GATEWAY_ROUTES": str(state / "gateway-routes.json")},
            ),
        ]

    def _gunicorn(
        self, name: str, app: str, extra_env: dict[str, str]
    ) -> ManagedProcess:
        port = self.config.ports[name]
        argv = [
            sys.executable, "-m", "gunicorn",
            "--bind", f"127.0.0.1:{port}",
            "--workers", "2",
            "--worker-class", "gthread",
            "--threads", "16",
            "--timeout", "0",
            "--log-level", "warning",
            app,
        ]  # fmt: skip
        return ManagedProcess(
            name,
            argv,
            self.config.state_dir / "logs" / f"{name}.log",
            port_open(port),
            env=base_env() | extra_env,
        )

    def _write_routes(self) -> None:
        state = self.config.state_dir
        state.mkdir(parents=True, exist_ok=True)
        targets = {
            f.name: _eventarc_target(f, self.function_url(f))
            for f in self.functions
            if not isinstance(f.trigger, HttpTrigger)
        }
        eventarc = {"project_id": self.config.project_id, "targets": targets}
        (state / "eventarc-routes.json").write_text(json.dumps(eventarc, indent=2))
        assert self.catalog is not None
        routes = {
            prefix: self.function_url(f)
            for prefix, f in self.catalog.http_routes().items()
        }
        (state / "gateway-routes.json").write_text(json.dumps({"routes": routes}))


def _eventarc_target(function: FunctionDefinition, url: str) -> dict[str, object]:
    return {
        "url": url,
        "retry": function.retry,
        "trigger": function.trigger.model_dump(),
    }


__all__ = ["Platform", "PortInUseError", "StartCancelledError", "StartupError"]
