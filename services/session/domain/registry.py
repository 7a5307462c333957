"""The live session registry's rules: what each call event changes about a live call (pure).

The registry answers "what calls are live right now, where, and what are they doing" for
supervisors and for the handoff desk. It is built from call events rather than by asking each
gateway, so it survives a gateway crash and needs no gateway to be reachable. A call leaves it
``ENDED_TTL_S`` after its ``call.ended`` (or after a disconnect nobody resumed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shared.events import (
    CallEnded,
    CallStarted,
    CallStateChanged,
    Envelope,
    EscalationAssigned,
    EscalationRequested,
    EventPayload,
    HandoffCompleted,
    HandoffFailed,
    SentimentScored,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
)

# A call that ended (or dropped and was not resumed) stays visible this long, then expires.
ENDED_TTL_S = 30
# A live call's entry expires this long after its last event, whatever happened: a gateway that
# died without a word must not leave ghosts (the longest call the gateways allow is 4 h).
LIVE_TTL_S = 4 * 3600 + 300


@dataclass
class LiveSession:
    """One call as the registry shows it. Never holds the caller's words."""

    call_id: str
    line_id: str = ""
    channel: str = ""
    gateway_id: str = ""
    gateway_url: str = ""
    started_at: str = ""
    updated_at: str = ""
    state: str = "listening"
    user_turns: int = 0
    agent_turns: int = 0
    tool_calls: int = 0
    tool_failures: int = 0
    sentiment: float | None = None
    sentiment_trend: float | None = None
    escalation: dict[str, Any] = field(default_factory=dict)
    agent_id: str = ""
    ended_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LiveSession:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    @property
    def ttl_s(self) -> int:
        return ENDED_TTL_S if self.state in ("ended", "disconnected") else LIVE_TTL_S


def apply_event(
    current: LiveSession | None, envelope: Envelope, payload: EventPayload
) -> LiveSession | None:
    """The entry after ``payload``; None when the event does not concern the registry.

    Events may be redelivered (at least once): every change here is a plain assignment or a
    count that the caller guards by ``event_id``, so a replay never corrupts the entry.
    ``current`` itself is never changed (the caller compares before and after).
    """
    if current is not None:
        current = replace(current)
    if current is None and not isinstance(payload, CallStarted):
        if isinstance(payload, CallEnded):
            return None  # a call we never saw start: nothing to show
        current = LiveSession(call_id=envelope.call_id, line_id=envelope.line_id)
        current.started_at = envelope.occurred_at.isoformat()
    session = current or LiveSession(call_id=envelope.call_id)
    session.updated_at = envelope.occurred_at.isoformat()
    if isinstance(payload, CallStarted):
        session.line_id = payload.line_id
        session.channel = payload.channel
        session.gateway_id = envelope.source
        session.gateway_url = payload.attributes.get("gateway_url", "")
        session.started_at = envelope.occurred_at.isoformat()
    elif isinstance(payload, CallStateChanged):
        if session.state != "ended":
            session.state = payload.state
            session.gateway_id = envelope.source or session.gateway_id
    elif isinstance(payload, CallEnded):
        session.state = "ended"
        session.ended_reason = payload.reason
    elif isinstance(payload, TranscriptUser):
        session.user_turns += 1
    elif isinstance(payload, TranscriptAgent):
        session.agent_turns += 1
    elif isinstance(payload, ToolCall):
        session.tool_calls += 1
    elif isinstance(payload, ToolResult):
        session.tool_failures += payload.status != "ok"
    elif isinstance(payload, SentimentScored):
        session.sentiment = payload.score
        session.sentiment_trend = payload.trend
    elif isinstance(payload, EscalationRequested):
        session.escalation = {
            "rule_id": payload.rule_id,
            "reasons": payload.reasons,
            "queue": payload.queue,
            "priority": payload.priority,
            "at": envelope.occurred_at.isoformat(),
        }
    elif isinstance(payload, EscalationAssigned | HandoffCompleted):
        session.agent_id = payload.agent_id
    elif isinstance(payload, HandoffFailed):
        session.escalation = {**session.escalation, "failed": payload.reason}
    else:
        return None
    return session
