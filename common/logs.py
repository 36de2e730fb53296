"""Logs: structured JSON lines for Cloud Logging, tied to the invocation.

One JSON object per line on stdout, in the shape that Cloud Logging's agent
turns into a structured entry: https://cloud.google.com/logging/docs/structured-logging

Usage::

    configure_logging("payment_webhooks")
    with invocation("http", headers=request.headers, provider="stripe") as inv:
        logger.info("payment recorded", extra=log_fields(status="succeeded"))
        inv.outcome = "duplicate"
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from common.errors import CrmError

SEVERITY_FIELD = "severity"
MESSAGE_FIELD = "message"
TIME_FIELD = "time"
TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_ID_FIELD = "logging.googleapis.com/spanId"
TRACE_SAMPLED_FIELD = "logging.googleapis.com/trace_sampled"
LABELS_FIELD = "logging.googleapis.com/labels"
SOURCE_LOCATION_FIELD = "logging.googleapis.com/sourceLocation"
# Error Reporting picks up a stack trace from this member of a JSON entry:
# https://cloud.google.com/error-reporting/docs/formatting-error-messages
STACK_TRACE_FIELD = "stack_trace"

EXECUTION_ID_HEADER = "Function-Execution-Id"
TRACEPARENT_HEADER = "traceparent"
CLOUD_TRACE_HEADER = "X-Cloud-Trace-Context"

_TRACEPARENT_RE = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})"
    r"-(?P<span_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})(?P<rest>-.*)?"
)
_CLOUD_TRACE_RE = re.compile(
    r"(?P<trace_id>[0-9a-fA-F]{32})(?:/(?P<span_id>\d+))?(?:;o=(?P<options>\d+))?"
)
_EXECUTION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_SPAN_ID = 2**64 - 1

_logger = logging.getLogger(__name__)


class HeaderMap(Protocol):
    """Where headers are read from: a dict, Flask's, a CloudEvent's attributes."""

    def get(self, key: str, /) -> Any:
        """Return the value under ``key``, or None."""

    def items(self) -> Iterable[tuple[str, Any]]:
        """Return every name and value."""


@dataclass(frozen=True)
class TraceContext:
    """The trace an invocation belongs to, as Cloud Logging wants it."""

    trace_id: str
    span_id: str | None
    sampled: bool


@dataclass
class Invocation:
    """The context of one function invocation; set ``outcome`` to report it."""

    kind: str
    execution_id: str
    trace: TraceContext | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"

    def add_fields(self, **fields: Any) -> None:
        """Attach fields to every later log line of this invocation."""
        self.fields.update(fields)

    def append_field(self, name: str, value: Any) -> None:
        """Add ``value`` to the list field ``name`` of later log lines."""
        self.fields.setdefault(name, []).append(value)


_current: ContextVar[Invocation | None] = ContextVar("invocation", default=None)


def current_invocation() -> Invocation | None:
    """Return the invocation running in this thread or task, if any."""
    return _current.get()


def log_fields(**fields: Any) -> dict[str, dict[str, Any]]:
    """Build the ``extra`` argument that adds fields to one log line."""
    return {"fields": fields}


class CloudLoggingFormatter(logging.Formatter):
    """Format a record as one Cloud Logging JSON entry."""

    def __init__(self, function_name: str, project_id: str) -> None:
        super().__init__()
        self.function_name = function_name
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        """Return the JSON line for a record."""
        entry = self._fields(record)
        entry.update(self._core(record))
        entry.update(self._context())

        if record.exc_info and record.levelno >= logging.ERROR:
            entry[STACK_TRACE_FIELD] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

    def _fields(self, record: logging.LogRecord) -> dict[str, Any]:
        invocation = _current.get()
        entry = dict(invocation.fields) if invocation else {}
        extra = getattr(record, "fields", None)
        if isinstance(extra, Mapping):
            entry.update(extra)
        return entry

    def _core(self, record: logging.LogRecord) -> dict[str, Any]:
        created = datetime.fromtimestamp(record.created, tz=UTC)
        return {
            SEVERITY_FIELD: severity(record.levelno),
            MESSAGE_FIELD: record.getMessage(),
            TIME_FIELD: created.isoformat(timespec="microseconds").replace(
                "+00:00", "Z"
            ),
            SOURCE_LOCATION_FIELD: {
                "file": record.pathname,
                "line": record.lineno,
                "function": record.funcName,
            },
        }

    def _context(self) -> dict[str, Any]:
        invocation = _current.get()
        labels = {"function": self.function_name}
        if invocation is None:
            return {LABELS_FIELD: labels}

        labels["execution_id"] = invocation.execution_id
        entry: dict[str, Any] = {LABELS_FIELD: labels}
        if invocation.trace is not None:
            entry.update(self._trace(invocation.trace))
        return entry

    def _trace(self, trace: TraceContext) -> dict[str, Any]:
        entry: dict[str, Any] = {
            TRACE_FIELD: f"projects/{self.project_id}/traces/{trace.trace_id}",
            TRACE_SAMPLED_FIELD: trace.sampled,
        }
        if trace.span_id is not None:
            entry[SPAN_ID_FIELD] = trace.span_id
        return entry


class _StdoutHandler(logging.Handler):
    """Write each formatted record as one line to the current ``sys.stdout``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def configure_logging(
    function_name: str, *, project_id: str | None = None, level: int = logging.INFO
) -> None:
    """Send the root logger's records to stdout as Cloud Logging JSON.

    Calling it again replaces the handler it installed before.
    """
    if project_id is None:
        from common.settings import get_settings

        project_id = get_settings().project_id

    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StdoutHandler):
            root.removeHandler(handler)

    handler = _StdoutHandler()
    handler.setFormatter(CloudLoggingFormatter(function_name, project_id))
    root.addHandler(handler)
    root.setLevel(level)


def severity(levelno: int) -> str:
    """Return the Cloud Logging severity of a Python log level."""
    for threshold, name in (
        (logging.CRITICAL, "CRITICAL"),
        (logging.ERROR, "ERROR"),
        (logging.WARNING, "WARNING"),
        (logging.INFO, "INFO"),
    ):
        if levelno >= threshold:
            return name
    return "DEBUG"


def parse_trace(headers: HeaderMap) -> TraceContext | None:
    """Read the trace from W3C ``traceparent``, else ``X-Cloud-Trace-Context``."""
    traceparent = header(headers, TRACEPARENT_HEADER)
    if traceparent is not None:
        trace = _parse_traceparent(traceparent)
        if trace is not None:
            return trace

    cloud_trace = header(headers, CLOUD_TRACE_HEADER)
    return _parse_cloud_trace(cloud_trace) if cloud_trace is not None else None


def header(headers: HeaderMap, name: str) -> str | None:
    """Return a header's value, whatever the case of its name in ``headers``."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value if isinstance(value, str) else None


@contextlib.contextmanager
def invocation(
    kind: str, headers: HeaderMap | None = None, **fields: Any
) -> Iterator[Invocation]:
    """Run one invocation with its execution id and trace in the log context.

    At exit it logs exactly one INFO line, "invocation finished", with the
    outcome and duration. An exception sets the outcome to its error code, or
    ``unexpected_error``, and propagates.
    """
    headers = headers or {}
    current = Invocation(
        kind=kind,
        execution_id=_execution_id(headers),
        trace=parse_trace(headers),
        fields=dict(fields),
    )
    token = _current.set(current)
    started = time.perf_counter()
    try:
        yield current
    except CrmError as exc:
        current.outcome = exc.code
        raise
    except Exception:
        current.outcome = "unexpected_error"
        raise
    finally:
        _log_finished(current, started)
        _current.reset(token)


def _log_finished(current: Invocation, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    _logger.info(
        "invocation finished",
        extra=log_fields(
            kind=current.kind, outcome=current.outcome, duration_ms=duration_ms
        ),
    )


def _execution_id(headers: HeaderMap) -> str:
    given = header(headers, EXECUTION_ID_HEADER)
    if given is not None and _EXECUTION_ID_RE.fullmatch(given):
        return given
    return uuid.uuid4().hex[:12]


def _parse_traceparent(value: str) -> TraceContext | None:
    # W3C Trace Context, section 3.2: https://www.w3.org/TR/trace-context/
    match = _TRACEPARENT_RE.fullmatch(value.strip())
    if match is None or match["version"] == "ff":
        return None
    if match["version"] == "00" and match["rest"]:
        return None
    if set(match["trace_id"]) == {"0"} or set(match["span_id"]) == {"0"}:
        return None
    sampled = bool(int(match["flags"], 16) & 0x01)
    return TraceContext(match["trace_id"], match["span_id"], sampled)


def _parse_cloud_trace(value: str) -> TraceContext | None:
    # TRACE_ID/SPAN_ID;o=OPTIONS, with a decimal span id that Cloud Logging
    # wants as 16 hex digits: https://cloud.google.com/trace/docs/trace-context
    match = _CLOUD_TRACE_RE.fullmatch(value.strip())
    if match is None or set(match["trace_id"]) == {"0"}:
        return None

    span_id = None
    if match["span_id"] and 0 < int(match["span_id"]) <= _MAX_SPAN_ID:
        span_id = f"{int(match['span_id']):016x}"
    sampled = bool(match["options"]) and bool(int(match["options"]) & 0x01)
    return TraceContext(match["trace_id"].lower(), span_id, sampled)
