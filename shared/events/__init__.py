"""The event envelope, the v1 call-event catalog and the registry that decodes them."""

from shared.events.catalog import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    EscalationAssigned,
    EscalationRequested,
    HandoffCompleted,
    HandoffFailed,
    Interruption,
    SentimentScored,
    ToolCall,
    ToolResult,
    ToolSideEffect,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
)
from shared.events.commands import ToolCompleted, ToolExecute
from shared.events.envelope import Envelope, EventPayload, new_event
from shared.events.registry import (
    DEFAULT_REGISTRY,
    EventRegistry,
    UnknownEventError,
    decode_envelope,
)

__all__ = [
    "DEFAULT_REGISTRY",
    "CallEnded",
    "CallStarted",
    "DialogueFallback",
    "Envelope",
    "EscalationAssigned",
    "EscalationRequested",
    "EventPayload",
    "EventRegistry",
    "HandoffCompleted",
    "HandoffFailed",
    "Interruption",
    "SentimentScored",
    "ToolCall",
    "ToolCompleted",
    "ToolExecute",
    "ToolResult",
    "ToolSideEffect",
    "TranscriptAgent",
    "TranscriptUser",
    "TurnMetrics",
    "UnknownEventError",
    "decode_envelope",
    "new_event",
]
