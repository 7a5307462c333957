"""The v1 call-event catalog (ARCHITECTURE.md). Every fact about a call is one of these.

Producers emit the latest version of each type. A breaking change adds a new class with a higher
``event_version`` and registers an upcaster from the old one in ``registry.py``; the contract test
(``tests/contract/test_event_schemas.py``) fails when a schema changes without that bump.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.envelope import EventPayload

# Bounds on free text: a caller can talk for a long time, but one utterance or reply never needs
# more than this; longer text is a bug or an attack and is refused at the model.
MAX_TEXT = 20_000


class CallStarted(EventPayload):
    event_type = "call.started"
    channel: Literal["voice_agent", "twilio", "text"]
    # The caller's address (phone number for Twilio). PII: redacted before it is persisted.
    caller: str | None = Field(default=None, max_length=200)
    line_id: str = Field(max_length=200)
    # Content hash of the support line's config that served the call.
    line_config_hash: str | None = Field(default=None, max_length=100)
    attributes: dict[str, str] = Field(default_factory=dict)


class CallEnded(EventPayload):
    event_type = "call.ended"
    reason: str = Field(max_length=100)
    duration_s: float = Field(ge=0)


class TranscriptUser(EventPayload):
    event_type = "transcript.user"
    item_id: str = Field(max_length=100)
    text: str = Field(max_length=MAX_TEXT)
    started_ms: int | None = Field(default=None, ge=0)
    ended_ms: int | None = Field(default=None, ge=0)


class TranscriptAgent(EventPayload):
    event_type = "transcript.agent"
    reply_id: str = Field(max_length=100)
    text: str = Field(max_length=MAX_TEXT)
    interrupted: bool = False


class Interruption(EventPayload):
    event_type = "interruption"
    reply_id: str = Field(max_length=100)
    played_ms: int = Field(ge=0)
    kind: Literal["barge_in", "cancel"] = "barge_in"


class ToolCall(EventPayload):
    event_type = "tool.call"
    tool_call_id: str = Field(max_length=100)
    name: str = Field(max_length=100)
    # Raw arguments may hold PII (order ids, emails): redacted before persistence.
    arguments: dict[str, Any] = Field(default_factory=dict)
    executor: Literal["client", "server"]


class ToolResult(EventPayload):
    event_type = "tool.result"
    tool_call_id: str = Field(max_length=100)
    status: Literal["ok", "error", "timeout"]
    duration_ms: int = Field(ge=0)


class ToolSideEffect(EventPayload):
    """A tool's slow follow-up (a Celery task) finished: the return label email, for one."""

    event_type = "tool.side_effect"
    tool_call_id: str = Field(max_length=100)
    name: str = Field(max_length=100)  # the tool that asked for it
    effect: str = Field(max_length=100)  # e.g. return_label_email
    status: Literal["ok", "failed"]
    attempts: int = Field(ge=0)
    # What it is about (an RMA id); never personal data.
    reference: str | None = Field(default=None, max_length=100)


class TurnMetrics(EventPayload):
    event_type = "turn.metrics"
    turn: int = Field(ge=0)
    # Per-stage latencies in ms: end_of_turn, stt, llm_first_token, tool, tts_first_audio,
    # voice_to_voice. A stage that did not run is absent.
    stages_ms: dict[str, float] = Field(default_factory=dict)


class DialogueFallback(EventPayload):
    """The dialogue provider failed (error or timeout); the fallback provider took the turn."""

    event_type = "dialogue.fallback"
    provider: str = Field(max_length=100)
    # What went wrong, for operators; never the caller's words.
    reason: str = Field(max_length=200)
    fallback: str = Field(default="flow", max_length=100)


class SentimentScored(EventPayload):
    event_type = "sentiment.scored"
    item_id: str = Field(max_length=100)
    score: float = Field(ge=-1.0, le=1.0)
    trend: float | None = None


# v1, superseded by v2 (evidence and priority); old records are decoded through the upcaster.
class EscalationRequestedV1(EventPayload):
    model_config = ConfigDict(extra="ignore", frozen=True, title="EscalationRequested")

    event_type = "escalation.requested"
    rule_id: str = Field(max_length=100)
    reasons: list[str] = Field(default_factory=list, max_length=50)
    score: float | None = None
    queue: str | None = Field(default=None, max_length=100)


class Evidence(BaseModel):
    """One signal that made a rule match: which utterances, which value against which bound."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    signal: str = Field(max_length=100)  # e.g. sentiment_trend, asked_for_person, loop
    detail: str = Field(default="", max_length=500)  # for people; never the caller's words
    item_ids: list[str] = Field(default_factory=list, max_length=50)
    value: float | None = None
    threshold: float | None = None


class EscalationRequested(EventPayload):
    """A rule matched: the caller should go to a person, and this is why."""

    event_type = "escalation.requested"
    event_version = 2
    rule_id: str = Field(max_length=100)
    # Short, human-readable reasons ("asked for a person twice"); never the caller's words.
    reasons: list[str] = Field(default_factory=list, max_length=50)
    score: float | None = None
    queue: str | None = Field(default=None, max_length=100)
    priority: int = Field(default=0, ge=0, le=100)
    # The line config's hash that held the rule (rules are versioned with the line file).
    rules_version: str | None = Field(default=None, max_length=100)
    evidence: list[Evidence] = Field(default_factory=list, max_length=50)


def upcast_escalation_requested_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: the added fields take their defaults."""
    return {**payload, "priority": 0, "rules_version": None, "evidence": []}


class EscalationAssigned(EventPayload):
    event_type = "escalation.assigned"
    queue: str = Field(max_length=100)
    agent_id: str = Field(max_length=100)


class HandoffCompleted(EventPayload):
    event_type = "handoff.completed"
    agent_id: str = Field(max_length=100)
    target: str = Field(max_length=200)


class HandoffFailed(EventPayload):
    event_type = "handoff.failed"
    reason: str = Field(max_length=200)


CallState = Literal[
    "listening", "agent_speaking", "tool_running", "on_hold", "with_human", "disconnected"
]


class CallStateChanged(EventPayload):
    """What the call is doing now (the live session registry and dashboard follow it)."""

    event_type = "call.state_changed"
    state: CallState


class DtmfReceived(EventPayload):
    """A key the caller pressed on a phone call (digit 0 asks for a person)."""

    event_type = "dtmf.received"
    digit: str = Field(pattern=r"^[0-9*#A-D]$")


class ControlApplied(EventPayload):
    """The gateway carried out (or refused) a call-control command: the audit trail."""

    event_type = "control.applied"
    command: str = Field(max_length=50)  # handoff, hangup, say, pause_agent, resume_agent, ...
    command_id: str = Field(max_length=100)
    issued_by: str = Field(max_length=200)
    ok: bool = True
    detail: str = Field(default="", max_length=500)  # why it was refused; never caller text


CALL_EVENTS: tuple[type[EventPayload], ...] = (
    CallStarted,
    CallEnded,
    TranscriptUser,
    TranscriptAgent,
    Interruption,
    ToolCall,
    ToolResult,
    ToolSideEffect,
    TurnMetrics,
    DialogueFallback,
    SentimentScored,
    EscalationRequestedV1,
    EscalationRequested,
    EscalationAssigned,
    HandoffCompleted,
    HandoffFailed,
    CallStateChanged,
    DtmfReceived,
    ControlApplied,
)
