"""The local platform's settings: project, ports, folders and retry pacing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from common.analytics.schema import DATASET as ANALYTICS_DATASET
from triggers import DEFAULT_DEFINITIONS

ROOT = Path(__file__).resolve().parent.parent
LOCAL_PROJECT = "demo-crm-aid"
# fake-gcs-server publishes every object event of every bucket to one topic.
NOTIFICATION_TOPIC = "gcs-object-notifications"
DATASET = ANALYTICS_DATASET

DEFAULT_PORTS: dict[str, int] = {
    "gateway": 8080,
    "firestore": 8081,
    "firestore-ws": 8082,
    "pubsub": 8085,
    "storage": 4443,
    "bigquery": 9050,
    "bigquery-grpc": 9060,
    "auth": 9099,
    "auth-hub": 4400,
    "auth-logging": 4500,
    "eventarc": 8090,
}
FUNCTION_PORT_BASE = 8100


@dataclass(frozen=True)
class PlatformConfig:
    """Everything that varies between two runs of the local platform."""

    project_id: str = LOCAL_PROJECT
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    function_port_base: int = FUNCTION_PORT_BASE
    state_dir: Path = ROOT / ".local" / "platform"
    definitions: tuple[Path, ...] = (DEFAULT_DEFINITIONS,)
    # Pub/Sub retry pacing is capped locally so that a retried event settles
    # in seconds, not the minutes production allows.
    max_backoff_s: float = 10.0
    ready_timeout_s: float = 60.0
    secrets_env: dict[str, str] = field(default_factory=dict)

    def with_offset(self, offset: int) -> PlatformConfig:
        """Shift every port by `offset`, to run a second platform beside one."""
        ports = {name: port + offset for name, port in self.ports.items()}
        return replace(
            self, ports=ports, function_port_base=self.function_port_base + offset
        )

    def url(self, service: str) -> str:
        """The loopback base URL of one service."""
        return f"http://127.0.0.1:{self.ports[service]}"


def sdk_root() -> Path:
    """The gcloud SDK's root, which holds the Firestore and Pub/Sub emulators."""
    configured = os.environ.get("CLOUDSDK_ROOT_DIR")
    if configured:
        return Path(configured)
    for candidate in (Path("/usr/lib/google-cloud-sdk"), Path("/google-cloud-sdk")):
        if candidate.is_dir():
            return candidate
    return _sdk_root_from_gcloud()


def _sdk_root_from_gcloud() -> Path:
    import shutil
    import subprocess

    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return Path("/usr/lib/google-cloud-sdk")
    found = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(found.stdout.strip() or "/usr/lib/google-cloud-sdk")
