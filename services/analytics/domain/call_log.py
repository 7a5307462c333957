"""How a call event becomes rows of the call log (pure: no I/O).

Every event is kept (redacted) in ``call_events``; some also update the call's summary row or
add a turn. Changes are order-independent: a ``call.ended`` that arrives before its
``call.started`` (after a producer retry) still yields the same final rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.analytics.domain.redaction import redact_text, redact_value
from shared.events import (
    CallEnded,
    CallStarted,
    Envelope,
    EventPayload,
    TranscriptAgent,
    TranscriptUser,
)


@dataclass(frozen=True)
class TurnRow:
    event_id: uuid.UUID
    call_id: str
    role: Literal["user", "agent"]
    item_id: str
    text: str
    interrupted: bool
    occurred_at: datetime
    started_ms: int | None = None
    ended_ms: int | None = None


@dataclass(frozen=True)
class CallLogChange:
    """Everything one event changes, already redacted."""

    event_id: uuid.UUID
    call_id: str
    line_id: str
    event_type: str
    version: int
    occurred_at: datetime
    source: str
    payload: dict[str, Any]
    # Columns of the call's summary row this event sets (absent = leave as is).
    call_fields: dict[str, Any] = field(default_factory=dict)
    turn: TurnRow | None = None


def change_for(envelope: Envelope, payload: EventPayload) -> CallLogChange:
    """The redacted call-log change an event makes."""
    call_fields: dict[str, Any] = {}
    turn: TurnRow | None = None
    if isinstance(payload, CallStarted):
        call_fields = {
            "channel": payload.channel,
            "caller": redact_text(payload.caller) if payload.caller else None,
            "line_config_hash": payload.line_config_hash,
            "started_at": envelope.occurred_at,
        }
    elif isinstance(payload, CallEnded):
        call_fields = {
            "ended_at": envelope.occurred_at,
            "end_reason": payload.reason,
            "duration_s": payload.duration_s,
        }
    elif isinstance(payload, TranscriptUser):
        turn = TurnRow(
            event_id=envelope.event_id,
            call_id=envelope.call_id,
            role="user",
            item_id=payload.item_id,
            text=redact_text(payload.text),
            interrupted=False,
            occurred_at=envelope.occurred_at,
            started_ms=payload.started_ms,
            ended_ms=payload.ended_ms,
        )
    elif isinstance(payload, TranscriptAgent):
        turn = TurnRow(
            event_id=envelope.event_id,
            call_id=envelope.call_id,
            role="agent",
            item_id=payload.reply_id,
            text=redact_text(payload.text),
            interrupted=payload.interrupted,
            occurred_at=envelope.occurred_at,
        )
    return CallLogChange(
        event_id=envelope.event_id,
        call_id=envelope.call_id,
        line_id=envelope.line_id,
        event_type=envelope.type,
        version=envelope.version,
        occurred_at=envelope.occurred_at,
        source=envelope.source,
        payload=redact_value(payload.model_dump(mode="json")),
        call_fields=call_fields,
        turn=turn,
    )
