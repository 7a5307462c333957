"""JSON logs that drop personal data and carry the trace context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from shared.settings import TelemetrySettings
from shared.telemetry.logs import (
    PII_FIELDS,
    DropPersonalData,
    TraceContext,
    call_context,
    setup_logging,
)

CARD = "4111 1111 1111 1111"
ReadLines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, ReadLines]]:
    """A logger whose output goes through the handler ``setup_logging`` builds, into a buffer.

    The handler is moved off the root logger at once, so pytest's own handlers stay untouched.
    """
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    setup_logging("svc-test", TelemetrySettings(LOG_FORMAT="json", LOG_LEVEL="DEBUG"))
    (handler,) = root.handlers
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)

    buffer = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    logger = logging.getLogger(f"services.test.{uuid.uuid4().hex}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield logger, read
    logger.handlers.clear()


def test_setup_logging_installs_both_filters_on_one_root_handler() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        setup_logging("svc-test", TelemetrySettings(LOG_LEVEL="WARNING"))
        (handler,) = root.handlers
        kinds = {type(f) for f in handler.filters}
        level = root.level
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    assert kinds == {DropPersonalData, TraceContext}
    assert level == logging.WARNING


def test_records_are_json_with_service_level_and_logger(
    logged: tuple[logging.Logger, ReadLines],
) -> None:
    logger, read = logged

    logger.info("call started", extra={"call_id": "sess_1"})

    (line,) = read()
    assert line["message"] == "call started"
    assert line["service"] == "svc-test"
    assert line["level"] == "INFO"
    assert line["logger"] == logger.name
    assert line["call_id"] == "sess_1"
    assert "ts" in line


def test_pii_named_attributes_never_appear(logged: tuple[logging.Logger, ReadLines]) -> None:
    logger, read = logged

    logger.info(
        "caller spoke",
        extra={
            "call_id": "sess_42",
            "text": "my card is secret-text-token",
            "caller": "+1 415 555 0132",
            "email": "jane@example.com",
        },
    )

    (line,) = read()
    raw = json.dumps(line)
    assert line["call_id"] == "sess_42"
    assert not {"text", "caller", "email"} & set(line)
    for secret in ("secret-text-token", "555 0132", "jane@example.com"):
        assert secret not in raw


@pytest.mark.parametrize("field", sorted(PII_FIELDS - {"name"}))
def test_every_pii_field_is_dropped(field: str, logged: tuple[logging.Logger, ReadLines]) -> None:
    logger, read = logged

    logger.warning("something happened", extra={field: "pii-marker-value", "call_id": "c"})

    (line,) = read()
    assert field not in line
    assert "pii-marker-value" not in json.dumps(line)
    assert line["call_id"] == "c"


def test_percent_args_are_dropped_for_an_app_logger(
    logged: tuple[logging.Logger, ReadLines],
) -> None:
    logger, read = logged

    logger.info("caller said %s", "my-secret-utterance")

    (line,) = read()
    assert "my-secret-utterance" not in json.dumps(line)
    assert line["message"] == "caller said %s [args dropped]"


def test_exception_message_is_dropped_but_its_type_kept(
    logged: tuple[logging.Logger, ReadLines],
) -> None:
    logger, read = logged

    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        logger.exception("validation failed", extra={"call_id": "sess_9"})

    (line,) = read()
    raw = json.dumps(line)
    assert CARD not in raw
    assert "builtins.ValueError" in line["exc_info"]
    assert "test_exception_message_is_dropped_but_its_type_kept" in line["exc_info"]


def test_no_trace_ids_outside_a_span(logged: tuple[logging.Logger, ReadLines]) -> None:
    logger, read = logged

    logger.info("no span here")

    (line,) = read()
    assert "trace_id" not in line
    assert "span_id" not in line


def test_record_inside_a_span_carries_its_trace_and_span_ids(
    logged: tuple[logging.Logger, ReadLines],
) -> None:
    logger, read = logged
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("work") as span:
        logger.info("inside a span")
        context = span.get_span_context()

    (line,) = read()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert len(line["trace_id"]) == 32
    assert len(line["span_id"]) == 16


def test_filters_drop_pii_before_any_handler_formats_it() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "msg %s", ("x",), None)
    record.caller = "+1 415 555 0132"
    record.call_id = "c"

    assert DropPersonalData().filter(record) is True

    assert not hasattr(record, "caller")
    assert getattr(record, "call_id", None) == "c"
    assert record.args is None
    assert record.getMessage() == "msg %s [args dropped]"


def test_trusted_library_logger_keeps_its_args() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Started on port %d", (8000,), None
    )

    DropPersonalData().filter(record)

    assert record.getMessage() == "Started on port 8000"


def test_trusted_library_logger_loses_args_on_connection_lines() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "%s - connection open", ("10.0.0.7",), None
    )

    DropPersonalData().filter(record)

    assert "10.0.0.7" not in record.getMessage()


async def test_every_line_logged_for_a_call_carries_its_id_even_from_its_tasks(
    logged: tuple[logging.Logger, ReadLines],
) -> None:
    logger, read = logged

    async def in_a_task() -> None:
        logger.info("from a task of the call")

    with call_context("sess_ctx"):
        logger.info("handling a call")
        await asyncio.create_task(in_a_task())  # a task copies the context it was created in
        logger.info("naming another call", extra={"call_id": "sess_other"})
    logger.info("after the call")

    lines = read()
    assert [line.get("call_id") for line in lines] == [
        "sess_ctx",
        "sess_ctx",
        "sess_other",
        None,
    ]
