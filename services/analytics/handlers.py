"""Handlers of the analytics service."""

from __future__ import annotations

import asyncio
from typing import Any

from services.analytics.domain.call_log import (
    CallerMemory,
    CallLogChange,
    change_for,
    redact_event,
)
from services.analytics.ports import CallLog, Redactor
from shared.events import Envelope, EventPayload
from shared.kafka.consumer import ConsumedEvent


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
    return await call_log.apply_many(changes)


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
