"""How a call event becomes rows of the call log (pure: no I/O).

Every event is kept, redacted, in ``call_events``; most also add a row to a table of their own
(turns, interruptions, tool calls, escalations, sentiment, turn metrics) and move the counters of
the call's summary row. Changes are order-independent: a ``call.ended`` that arrives before its
``call.started`` (after a producer retry), or a tool result before its call, yields the same
final rows. Counters move only for events stored for the first time, so a redelivery changes
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.analytics.ports import Redactor
from shared.events import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    Envelope,
    EscalationAssigned,
    EscalationRequested,
    EventPayload,
    HandoffCompleted,
    HandoffFailed,
    Interruption,
    SentimentScored,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
)

# Payload fields that hold identifiers, enums and numbers, never personal data: stored as sent.
# Every other string in a payload goes through the redactor.
SAFE_FIELDS = frozenset(
    {
        "item_id",
        "reply_id",
        "tool_call_id",
        "status",
        "kind",
        "executor",
        "name",
        "channel",
        "line_id",
        "line_config_hash",
        "rule_id",
        "queue",
        "agent_id",
        "effect",
        "provider",
        "fallback",
        "duration_ms",
        "played_ms",
        "turn",
        "stages_ms",
        "score",
        "trend",
        "duration_s",
        "interrupted",
        "started_ms",
        "ended_ms",
        "attempts",
        # Enums and identifiers of state, DTMF, control and escalation events (a DTMF digit is
        # one key: a number typed key by key is never in one event).
        "state",
        "digit",
        "command",
        "command_id",
        "issued_by",
        "priority",
        "rules_version",
    }
)


@dataclass(frozen=True)
class ToolCallRow:
    """A tool call, merged from its ``tool.call`` and ``tool.result`` events."""

    tool_call_id: str
    fields: dict[str, Any]


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
    # Summary counters this event adds to; extremes it may lower or raise.
    counters: dict[str, float] = field(default_factory=dict)
    minimums: dict[str, float] = field(default_factory=dict)
    maximums: dict[str, float] = field(default_factory=dict)
    tools_used: tuple[str, ...] = ()
    # Insert-only rows: (table, values); the table's key is (event_id, occurred_at).
    rows: tuple[tuple[str, dict[str, Any]], ...] = ()
    tool_call: ToolCallRow | None = None


def change_for(
    envelope: Envelope,
    payload: EventPayload,
    *,
    redactor: Redactor,
    previous_user_text: str | None = None,
) -> CallLogChange:
    """The redacted call-log change an event makes.

    ``previous_user_text``: the caller's turn before this one (raw, held in memory only), so
    PII split across two turns is still caught.
    """
    redacted_payload = redact_event(
        payload, redactor=redactor, previous_user_text=previous_user_text
    )
    base = {"event_id": envelope.event_id, "occurred_at": envelope.occurred_at}
    where = {**base, "call_id": envelope.call_id}
    parts = _Parts()
    if isinstance(payload, TranscriptUser | TranscriptAgent):
        text = redacted_payload["text"]
        parts.rows.append(("turns", {**where, "line_id": envelope.line_id, **_turn(payload, text)}))
        parts.counters["user_turns" if isinstance(payload, TranscriptUser) else "agent_turns"] = 1
    else:
        _describe(payload, redacted_payload, where, envelope, parts)
    return CallLogChange(
        event_id=envelope.event_id,
        call_id=envelope.call_id,
        line_id=envelope.line_id,
        event_type=envelope.type,
        version=envelope.version,
        occurred_at=envelope.occurred_at,
        source=envelope.source,
        payload=redacted_payload,
        call_fields=parts.call_fields,
        counters=parts.counters,
        minimums=parts.minimums,
        maximums=parts.maximums,
        tools_used=tuple(parts.tools_used),
        rows=tuple(parts.rows),
        tool_call=parts.tool_call,
    )


def redact_event(
    payload: EventPayload, *, redactor: Redactor, previous_user_text: str | None = None
) -> dict[str, Any]:
    """An event's payload as JSON with its personal data redacted: the one redaction of call
    events (the call log stores it, the live dashboard shows it).

    A transcript's text is redacted as text (a caller turn with the turn before it, so PII split
    across two turns is still caught); any other payload field by field (``redact_payload``).
    """
    dumped = payload.model_dump(mode="json")
    if isinstance(payload, TranscriptUser | TranscriptAgent):
        previous = previous_user_text if isinstance(payload, TranscriptUser) else None
        dumped["text"] = redactor.redact(payload.text, previous=previous).text
        return dumped
    return redact_payload(dumped, redactor)


def redact_payload(payload: Mapping[str, Any], redactor: Redactor) -> dict[str, Any]:
    """The payload with every field outside ``SAFE_FIELDS`` redacted (keys give context)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key in SAFE_FIELDS or value is None or isinstance(value, bool):
            out[key] = value
        else:
            out[key] = redactor.redact_value({key: value})[key]
    return out


@dataclass
class _Parts:
    call_fields: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, float] = field(default_factory=dict)
    minimums: dict[str, float] = field(default_factory=dict)
    maximums: dict[str, float] = field(default_factory=dict)
    tools_used: list[str] = field(default_factory=list)
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tool_call: ToolCallRow | None = None


def _turn(payload: TranscriptUser | TranscriptAgent, text: str) -> dict[str, Any]:
    if isinstance(payload, TranscriptUser):
        return {
            "role": "user",
            "item_id": payload.item_id,
            "text": text,
            "interrupted": False,
            "started_ms": payload.started_ms,
            "ended_ms": payload.ended_ms,
        }
    return {
        "role": "agent",
        "item_id": payload.reply_id,
        "text": text,
        "interrupted": payload.interrupted,
        "started_ms": None,  # rows of one table share their keys (one multi-row INSERT)
        "ended_ms": None,
    }


def _describe(
    payload: EventPayload,
    redacted: dict[str, Any],
    where: dict[str, Any],
    envelope: Envelope,
    parts: _Parts,
) -> None:
    """Fill ``parts`` with what a non-transcript event changes."""
    at = envelope.occurred_at
    if isinstance(payload, CallStarted):
        parts.call_fields.update(
            channel=payload.channel,
            caller=redacted.get("caller"),
            line_config_hash=payload.line_config_hash,
            started_at=at,
        )
    elif isinstance(payload, CallEnded):
        parts.call_fields.update(
            ended_at=at, end_reason=payload.reason, duration_s=payload.duration_s
        )
    elif isinstance(payload, Interruption):
        parts.rows.append(
            (
                "interruptions",
                {
                    **where,
                    "reply_id": payload.reply_id,
                    "played_ms": payload.played_ms,
                    "kind": payload.kind,
                },
            )
        )
        parts.counters["interruptions"] = 1
    elif isinstance(payload, ToolCall):
        parts.tool_call = ToolCallRow(
            payload.tool_call_id,
            {
                "name": payload.name,
                "executor": payload.executor,
                "arguments": redacted.get("arguments", {}),
                "called_at": at,
            },
        )
        parts.counters["tool_calls"] = 1
        parts.tools_used.append(payload.name)
    elif isinstance(payload, ToolResult):
        parts.tool_call = ToolCallRow(
            payload.tool_call_id,
            {"status": payload.status, "duration_ms": payload.duration_ms, "completed_at": at},
        )
        if payload.status == "error":
            parts.counters["tool_errors"] = 1
        elif payload.status == "timeout":
            parts.counters["tool_timeouts"] = 1
    elif isinstance(payload, TurnMetrics):
        v2v = payload.stages_ms.get("voice_to_voice")
        parts.rows.append(
            (
                "turn_metrics",
                {
                    **where,
                    "line_id": envelope.line_id,
                    "turn": payload.turn,
                    "stages_ms": payload.stages_ms,
                    "voice_to_voice_ms": v2v,
                },
            )
        )
        if v2v is not None:
            parts.counters.update(v2v_sum_ms=v2v, v2v_count=1)
            parts.maximums["v2v_max_ms"] = v2v
    elif isinstance(payload, SentimentScored):
        parts.rows.append(
            (
                "sentiment",
                {
                    **where,
                    "item_id": payload.item_id,
                    "score": payload.score,
                    "trend": payload.trend,
                },
            )
        )
        parts.counters.update(sentiment_sum=payload.score, sentiment_count=1)
        parts.minimums["sentiment_min"] = payload.score
    elif isinstance(payload, DialogueFallback):
        parts.counters["fallbacks"] = 1
    elif isinstance(
        payload, EscalationRequested | EscalationAssigned | HandoffCompleted | HandoffFailed
    ):
        _escalation(payload, redacted, where, parts)


_ESCALATION_KINDS: dict[type, str] = {
    EscalationRequested: "requested",
    EscalationAssigned: "assigned",
    HandoffCompleted: "handoff_completed",
    HandoffFailed: "handoff_failed",
}


def _escalation(
    payload: EventPayload, redacted: dict[str, Any], where: dict[str, Any], parts: _Parts
) -> None:
    kind = _ESCALATION_KINDS[type(payload)]
    reasons = redacted.get("reasons") or ([redacted["reason"]] if redacted.get("reason") else [])
    parts.rows.append(
        (
            "escalations",
            {
                **where,
                "kind": kind,
                "rule_id": redacted.get("rule_id"),
                "reasons": reasons,
                "score": redacted.get("score"),
                "queue": redacted.get("queue"),
                "agent_id": redacted.get("agent_id"),
                "target": redacted.get("target"),
            },
        )
    )
    if kind == "requested":
        parts.counters["escalations"] = 1
    elif kind == "handoff_completed":
        parts.counters["handoffs"] = 1


class CallerMemory:
    """The last caller turn of each live call (raw text, in memory only), for split PII.

    Bounded: at ``capacity`` calls the least recently active is forgotten, and its next turn is
    redacted without the previous one (each turn alone is still redacted).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._last: dict[str, str] = {}

    def previous(self, call_id: str) -> str | None:
        return self._last.get(call_id)

    def observe(self, envelope: Envelope, payload: EventPayload) -> None:
        """Remember a caller turn; forget a call that ended."""
        if isinstance(payload, TranscriptUser):
            self._last.pop(envelope.call_id, None)
            self._last[envelope.call_id] = payload.text
            while len(self._last) > self._capacity:
                self._last.pop(next(iter(self._last)))
        elif isinstance(payload, CallEnded):
            self._last.pop(envelope.call_id, None)

    def __len__(self) -> int:
        return len(self._last)
