"""Handlers of the analytics service."""

from __future__ import annotations

from services.analytics.domain.call_log import change_for
from services.analytics.ports import CallLog
from shared.kafka.consumer import ConsumedEvent


async def handle_call_events(events: list[ConsumedEvent], *, call_log: CallLog) -> int:
    """Redact a batch of events and store it in one transaction; returns how many were new."""
    return await call_log.apply_many([change_for(e.envelope, e.payload) for e in events])
