"""Handlers of the analytics service."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry import trace

from services.analytics.domain.call_log import (
    CallerMemory,
    CallLogChange,
    change_for,
    redact_event,
)
from services.analytics.ports import CallLog, Redactor
from shared.events import Envelope, EventPayload
from shared.kafka.consumer import ConsumedEvent

tracer = trace.get_tracer(__name__)
# Links one write span keeps to the spans that published its records (the SDK's default limit;
# past it, links are dropped and the span's dropped-links count says how many).
MAX_WRITE_LINKS = 128


def redact_batch(
    events: list[ConsumedEvent], *, redactor: Redactor, memory: CallerMemory
) -> list[CallLogChange]:
    """The redacted changes of a batch, in order (each caller turn sees the one before)."""
    changes = []
    for event in events:
        envelope, payload = event.envelope, event.payload
        previous = memory.previous(envelope.call_id)
        change = change_for(envelope, payload, redactor=redactor, previous_user_text=previous)
        memory.observe(envelope, payload)
        changes.append(change)
    return changes


async def handle_call_events(
    events: list[ConsumedEvent], *, call_log: CallLog, redactor: Redactor, memory: CallerMemory
) -> int:
    """Redact a batch of events and store it in one transaction; returns how many were new.

    Redaction is CPU work (a few ms a turn): it runs in a worker thread so the API stays
    responsive while a backlog is ingested.
    """
    changes = await asyncio.to_thread(redact_batch, events, redactor=redactor, memory=memory)
    with tracer.start_as_current_span(
        "call_log.write",
        links=write_links(events),
        attributes={
            "db.system": "postgresql",
            "batch.size": len(events),
            "calls": len({e.envelope.call_id for e in events}),
        },
    ) as span:
        new = await call_log.apply_many(changes)
        span.set_attribute("records.new", new)
        return new


def write_links(events: list[ConsumedEvent]) -> list[trace.Link]:
    """Links to the spans that published a batch's records, each once.

    Links, not a parent: one batch holds events of many calls and turns, so of many traces, and
    a span has one parent. Jaeger shows the write's links as references to the turns' spans.
    """
    seen: dict[tuple[int, int], trace.SpanContext] = {}
    for event in events:
        ctx = event.published_by
        if ctx.is_valid:
            seen.setdefault((ctx.trace_id, ctx.span_id), ctx)
    return [trace.Link(ctx) for ctx in list(seen.values())[:MAX_WRITE_LINKS]]


def redact_live_batch(
    events: list[tuple[Envelope, EventPayload]], *, redactor: Redactor, memory: CallerMemory
) -> list[tuple[Envelope, dict[str, Any]]]:
    """The live feed's events with their payloads redacted as the call log redacts them (CPU
    work: the caller runs it in a worker thread)."""
    redacted = []
    for envelope, payload in events:
        previous = memory.previous(envelope.call_id)
        redacted.append(
            (envelope, redact_event(payload, redactor=redactor, previous_user_text=previous))
        )
        memory.observe(envelope, payload)
    return redacted
