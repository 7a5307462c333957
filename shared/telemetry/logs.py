"""JSON logging that cannot leak personal data by accident.

House rule: log messages are constant strings. Anything that may hold personal data goes into a
named attribute listed in ``PII_FIELDS``; the filter here drops those attributes from every
record before any handler formats it. Trace and span ids are added for correlation, and the
id of the call being handled (``call_context``), so every line of a call can be found by it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from shared.settings import TelemetrySettings

# Attribute names that may carry caller data. Never printed, whatever the log level.
PII_FIELDS = frozenset(
    {
        "text",
        "transcript",
        "caller",
        "arguments",
        "args_payload",
        "payload",
        "email",
        "phone",
        "address",
        "name",
        "result",
        "value",
        "raw",
        "body",
    }
)

# Standard LogRecord attributes: not "extra" fields.
_RESERVED = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "color_message",
    "message",
    "asctime",
    "taskName",
}


# Library loggers whose %-style arguments are ports, paths and versions, never caller data.
_TRUSTED_ARG_LOGGERS = ("uvicorn.error", "alembic", "celery")


class DropPersonalData(logging.Filter):
    """Removes PII-named attributes, positional ``args`` and exception messages of records.

    An exception's message can quote its input (pydantic's ``ValidationError`` does), so only
    the traceback's frames and the exception type are kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key in list(vars(record)):
            if key in PII_FIELDS and key not in _RESERVED:
                delattr(record, key)
        if hasattr(record, "color_message"):  # uvicorn's duplicate of the message
            del record.color_message
        # %-style args could interpolate caller data into a message: messages are constants.
        # Trusted loggers still lose args on connection lines, which carry client addresses.
        trusted = record.name.startswith(_TRUSTED_ARG_LOGGERS) and " - " not in str(record.msg)
        if record.args and not trusted:
            record.msg = f"{record.msg} [args dropped]"
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frames = "".join(traceback.format_tb(exc.__traceback__))
            record.exc_text = f"Traceback:\n{frames}{type(exc).__module__}.{type(exc).__name__}"
            record.exc_info = None
        return True


# The call the current task works for. Tasks copy it when they are created, so one set where a
# call's handling starts (the gateway's socket, a consumer's record) covers all its work.
CALL_ID: ContextVar[str | None] = ContextVar("call_id", default=None)


@contextlib.contextmanager
def call_context(call_id: str | None) -> Iterator[None]:
    """Every record logged inside carries ``call_id`` (unless it names one itself)."""
    token = CALL_ID.set(call_id)
    try:
        yield
    finally:
        CALL_ID.reset(token)


class TraceContext(logging.Filter):
    """Adds the current ``trace_id`` and ``span_id`` (hex), and the current call's ``call_id``
    (see ``call_context``) when the record does not carry one already."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        call_id = CALL_ID.get()
        if call_id is not None and not hasattr(record, "call_id"):
            record.call_id = call_id
        return True


def setup_logging(service_name: str, settings: TelemetrySettings) -> None:
    """Route the root logger to stderr as JSON (or text), with the PII and trace filters."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(DropPersonalData())
    handler.addFilter(TraceContext())
    if settings.log_format == "json":
        formatter: logging.Formatter = JsonFormatter(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": service_name},
            timestamp="ts",
        )
    else:
        formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def extra(**fields: Any) -> dict[str, Any]:
    """Readable helper for ``logger.info("msg", extra=extra(call_id=...))``."""
    return fields
