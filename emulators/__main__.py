"""The local platform's command line: `up`, `exec -- CMD` and `demo`."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType

from emulators import demo_secrets
from emulators.config import DEFAULT_PORTS, PlatformConfig
from emulators.platform import Platform, PortInUseError
from emulators.processes import StartCancelledError, StartupError
from emulators.services import MissingToolError
from triggers import DEFAULT_DEFINITIONS, TriggerDefinitionError

EXIT_PLATFORM_FAILED = 3
EXIT_TERMINATED = 128 + signal.SIGTERM
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _TerminatedError(Exception):
    """SIGTERM or SIGINT arrived: unwind so that everything started is stopped."""


class _StopSignals:
    """Stop the platform on the first SIGTERM or SIGINT, once.

    Later signals are ignored, so that none cuts the stop short and leaves
    processes behind: make sends its children a SIGTERM of its own when its
    process group gets one, and a second Ctrl-C is a common reflex. While the
    platform starts, a signal only asks it to stop (`Platform.stop_requested`);
    once it serves, a signal raises `_TerminatedError` where the code is.
    """

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._serving = False
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)

    def serving(self) -> None:
        """From now on a signal raises; raise now if one came while starting."""
        self._serving = True
        if self._platform.stop_requested.is_set():
            raise _TerminatedError

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)
        self._platform.stop_requested.set()
        if self._serving:
            raise _TerminatedError


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command of the local platform and return its exit code."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from emulators.demo import run_demo

        return run_demo()

    try:
        config = _config(args)
        platform = Platform(config)
        signals = _StopSignals(platform)
        if args.command == "up":
            return _up(platform, signals, demo=args.demo)
        return _exec(platform, signals, args.cmd)
    except (TriggerDefinitionError, PortInUseError, StartupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except MissingToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except StartCancelledError:
        print("stopped before the platform was ready", file=sys.stderr)
        return EXIT_TERMINATED
    except _TerminatedError:
        print("stopped", file=sys.stderr)
        return EXIT_TERMINATED
    return EXIT_PLATFORM_FAILED


def _up(platform: Platform, signals: _StopSignals, demo: bool) -> int:
    with platform:
        try:
            signals.serving()
            _print_ready(platform)
            if demo:
                from emulators.demo import run_demo

                run_demo(platform.config)
                print("demo done; still serving. Ctrl-C stops everything.")
            signal.pause()
        except _TerminatedError:
            print("stopping", file=sys.stderr)
    return 0


def _exec(platform: Platform, signals: _StopSignals, cmd: list[str]) -> int:
    if cmd[:1] == ["--"]:
        cmd = cmd[1:]
    if not cmd:
        raise ValueError("exec needs a command after --")
    with platform:
        signals.serving()
        print(f"platform ready in {platform.started_in_s:.1f} s", file=sys.stderr)
        env = os.environ | platform.environment()
        child = subprocess.Popen(cmd, env=env)
        try:
            return child.wait()
        except _TerminatedError:
            child.terminate()
            return child.wait()


def _print_ready(platform: Platform) -> None:
    rows = platform.endpoints()
    rows += [(f"log {p.name}", str(p.log_path)) for p in platform.processes]
    width = max(len(name) for name, _ in rows)
    print(f"CRM-AID local platform ready in {platform.started_in_s:.1f} s")
    for name, where in rows:
        print(f"  {name.ljust(width)}  {where}")
    print("environment for commands:")
    for key, value in platform.environment().items():
        print(f"  export {key}={value}")
    secrets = {s for f in platform.functions for s in f.secrets}
    for name, value in demo_secrets.demo_defaults(sorted(secrets)).items():
        print(f"  demo secret {name}={value}")
    print("Ctrl-C stops everything.", flush=True)


def _config(args: argparse.Namespace) -> PlatformConfig:
    config = PlatformConfig(max_backoff_s=args.max_backoff)
    if args.definitions:
        config = replace(config, definitions=(DEFAULT_DEFINITIONS, *args.definitions))
    if args.state_dir:
        config = replace(config, state_dir=args.state_dir.resolve())
    config = config.with_offset(args.port_offset)
    for item in args.port:
        name, _, port = item.partition("=")
        if name not in DEFAULT_PORTS or not port.isdigit():
            known = ", ".join(DEFAULT_PORTS)
            raise ValueError(f"--port {item}: expected NAME=PORT, NAME one of {known}")
        config.ports[name] = int(port)
    return config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulators")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start everything and serve until Ctrl-C")
    run = commands.add_parser("exec", help="start everything, run CMD, stop")
    commands.add_parser("demo", help="drive the demo scenario on a running platform")
    for sub in (up, run):
        sub.add_argument("--port-offset", type=int, default=0)
        sub.add_argument("--port", action="append", default=[], metavar="NAME=PORT")
        sub.add_argument("--state-dir", type=Path)
        sub.add_argument("--definitions", type=Path, action="append", default=[])
        sub.add_argument("--max-backoff", type=float, default=10.0)
    up.add_argument("--demo", action="store_true", help="run the demo once ready")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    return parser


if __name__ == "__main__":
    sys.exit(main())
