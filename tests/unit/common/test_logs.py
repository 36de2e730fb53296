"""Unit tests of common.logs: JSON lines, trace parsing and invocations."""

from __future__ import annotations

import logging
import threading

import pytest
from cloudevents.http import CloudEvent
from werkzeug.datastructures import Headers

from common.errors import NotFoundError
from common.logs import (
    LABELS_FIELD,
    SPAN_ID_FIELD,
    STACK_TRACE_FIELD,
    TRACE_FIELD,
    TRACE_SAMPLED_FIELD,
    TraceContext,
    configure_logging,
    current_invocation,
    invocation,
    log_fields,
    parse_trace,
    severity,
)
from tests.support import ReadLines

pytestmark = pytest.mark.unit

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
logger = logging.getLogger("tests.common.logs")


def test_log_line_outside_invocation_has_core_fields(read_lines: ReadLines) -> None:
    logger.info("payment recorded", extra=log_fields(provider="stripe", count=2))

    [line] = read_lines()
    assert line["severity"] == "INFO"
    assert line["message"] == "payment recorded"
    assert line["provider"] == "stripe"
    assert line["count"] == 2
    assert line["time"].endswith("Z")
    assert line[LABELS_FIELD] == {"function": "payment_webhooks"}
    assert TRACE_FIELD not in line


def test_log_line_fields_cannot_override_reserved_members(
    read_lines: ReadLines,
) -> None:
    logger.warning("row rejected", extra=log_fields(severity="DEBUG", message="x"))

    [line] = read_lines()
    assert line["severity"] == "WARNING"
    assert line["message"] == "row rejected"


def test_log_line_error_with_exc_info_has_stack_trace(read_lines: ReadLines) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("unexpected failure")

    [line] = read_lines()
    assert line["severity"] == "ERROR"
    assert line["message"] == "unexpected failure"
    assert "RuntimeError: boom" in line[STACK_TRACE_FIELD]


def test_log_line_warning_with_exc_info_has_no_stack_trace(
    read_lines: ReadLines,
) -> None:
    try:
        raise ValueError("bad row")
    except ValueError:
        logger.warning("row rejected", exc_info=True)

    [line] = read_lines()
    assert line["severity"] == "WARNING"
    assert STACK_TRACE_FIELD not in line


def test_configure_logging_twice_keeps_one_handler(read_lines: ReadLines) -> None:
    configure_logging("payment_webhooks", project_id="demo-logs")

    logger.info("payment recorded")

    assert len(read_lines()) == 1


@pytest.mark.parametrize(
    ("levelno", "expected"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARNING"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "CRITICAL"),
        (25, "INFO"),
        (5, "DEBUG"),
    ],
)
def test_severity_python_level_maps_to_cloud_logging(
    levelno: int, expected: str
) -> None:
    assert severity(levelno) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {"traceparent": TRACEPARENT},
            TraceContext(TRACE_ID, "00f067aa0ba902b7", True),
        ),
        (
            {"Traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-00"},
            TraceContext(TRACE_ID, "00f067aa0ba902b7", False),
        ),
        (
            {"X-Cloud-Trace-Context": f"{TRACE_ID}/123;o=1"},
            TraceContext(TRACE_ID, "000000000000007b", True),
        ),
        (
            {"x-cloud-trace-context": f"{TRACE_ID.upper()}/123;o=0"},
            TraceContext(TRACE_ID, "000000000000007b", False),
        ),
        (
            {"X-Cloud-Trace-Context": TRACE_ID},
            TraceContext(TRACE_ID, None, False),
        ),
        (
            {
                "traceparent": TRACEPARENT,
                "X-Cloud-Trace-Context": f"{'1' * 32}/1;o=1",
            },
            TraceContext(TRACE_ID, "00f067aa0ba902b7", True),
        ),
        (
            {
                "traceparent": "not-a-traceparent",
                "X-Cloud-Trace-Context": f"{TRACE_ID}/1;o=1",
            },
            TraceContext(TRACE_ID, "0000000000000001", True),
        ),
        ({"traceparent": f"ff-{TRACE_ID}-00f067aa0ba902b7-01"}, None),
        ({"traceparent": f"00-{'0' * 32}-00f067aa0ba902b7-01"}, None),
        ({"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"}, None),
        ({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra"}, None),
        ({"X-Cloud-Trace-Context": "short/1;o=1"}, None),
        ({}, None),
    ],
)
def test_parse_trace_headers_give_trace_context(
    headers: dict[str, str], expected: TraceContext | None
) -> None:
    assert parse_trace(headers) == expected


def test_parse_trace_flask_headers_and_cloudevent_attributes_are_read() -> None:
    flask_headers = Headers({"X-Cloud-Trace-Context": f"{TRACE_ID}/1;o=1"})
    event = CloudEvent({"type": "t", "source": "s", "traceparent": TRACEPARENT})

    from_flask = parse_trace(flask_headers)
    from_event = parse_trace(event.get_attributes())

    assert from_flask is not None
    assert from_flask.trace_id == TRACE_ID
    assert from_event == TraceContext(TRACE_ID, "00f067aa0ba902b7", True)


def test_parse_trace_future_traceparent_version_accepts_extra_fields() -> None:
    header = f"01-{TRACE_ID}-00f067aa0ba902b7-01-future"

    assert parse_trace({"traceparent": header}) == TraceContext(
        TRACE_ID, "00f067aa0ba902b7", True
    )


def test_invocation_ok_logs_one_finished_line(read_lines: ReadLines) -> None:
    headers = {"Function-Execution-Id": "abc123", "traceparent": TRACEPARENT}

    with invocation("http", headers=headers, provider="stripe"):
        logger.info("payment recorded")

    inner, finished = read_lines()
    for line in (inner, finished):
        assert line[LABELS_FIELD] == {
            "function": "payment_webhooks",
            "execution_id": "abc123",
        }
        assert line[TRACE_FIELD] == f"projects/demo-logs/traces/{TRACE_ID}"
        assert line[SPAN_ID_FIELD] == "00f067aa0ba902b7"
        assert line[TRACE_SAMPLED_FIELD] is True
        assert line["provider"] == "stripe"
    assert finished["message"] == "invocation finished"
    assert finished["severity"] == "INFO"
    assert finished["outcome"] == "ok"
    assert finished["kind"] == "http"
    assert finished["duration_ms"] >= 0


def test_invocation_caller_outcome_is_logged(read_lines: ReadLines) -> None:
    with invocation("pubsub") as current:
        current.outcome = "duplicate"
        current.add_fields(event_type="payment.charge.succeeded")

    [finished] = read_lines()
    assert finished["outcome"] == "duplicate"
    assert finished["event_type"] == "payment.charge.succeeded"


def test_invocation_crm_error_logs_its_code_and_reraises(
    read_lines: ReadLines,
) -> None:
    with pytest.raises(NotFoundError), invocation("http"):
        raise NotFoundError(code="customer_not_found")

    [finished] = read_lines()
    assert finished["outcome"] == "customer_not_found"


def test_invocation_unexpected_error_logs_unexpected_and_reraises(
    read_lines: ReadLines,
) -> None:
    with pytest.raises(KeyError), invocation("http"):
        raise KeyError("missing")

    [finished] = read_lines()
    assert finished["message"] == "invocation finished"
    assert finished["outcome"] == "unexpected_error"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Function-Execution-Id": "bad id with spaces"}],
)
def test_invocation_without_valid_execution_id_generates_one(
    read_lines: ReadLines, headers: dict[str, str]
) -> None:
    with invocation("storage", headers=headers) as current:
        generated = current.execution_id

    [finished] = read_lines()
    assert len(generated) == 12
    assert finished[LABELS_FIELD]["execution_id"] == generated


def test_invocation_exit_clears_context(read_lines: ReadLines) -> None:
    with invocation("http"):
        assert current_invocation() is not None

    assert current_invocation() is None
    logger.info("after")
    assert "execution_id" not in read_lines()[-1][LABELS_FIELD]


def test_invocation_threads_keep_their_own_context(read_lines: ReadLines) -> None:
    barrier = threading.Barrier(8)

    def run(number: int) -> None:
        with invocation("http", {"Function-Execution-Id": f"exec{number}"}):
            barrier.wait()
            logger.info("step done", extra=log_fields(number=number))
            barrier.wait()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    lines = read_lines()
    steps = [line for line in lines if line["message"] == "step done"]
    finished = [line for line in lines if line["message"] == "invocation finished"]
    assert len(steps) == 8
    assert len(finished) == 8
    for line in steps:
        assert line[LABELS_FIELD]["execution_id"] == f"exec{line['number']}"


def test_invocation_list_field_collects_every_value(read_lines: ReadLines) -> None:
    with invocation("http") as current:
        current.append_field("published_events", {"event_id": "evt_1"})
        current.append_field("published_events", {"event_id": "evt_2"})

    [finished] = read_lines()
    assert finished["published_events"] == [
        {"event_id": "evt_1"},
        {"event_id": "evt_2"},
    ]
