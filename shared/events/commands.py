"""Commands and replies between services (not facts about a call; imperative by name).

``tool.execute`` goes from the gateway that holds a call to the tools service on
``cc.tool-requests.v1``; ``tool.completed`` comes back on ``cc.tool-results.v1`` addressed by
``reply_to`` (the asking gateway's instance id). Every gateway reads the results topic in its own
consumer group and keeps the records addressed to it, so a result reaches the process that holds
the call whichever partition it lands on. Both travel in the same envelope as call events
(``call_id`` and ``line_id`` there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shared.events.envelope import EventPayload

# A tool's arguments and result are bounded: the model reads them, and they cross Kafka.
MAX_TOOL_JSON_CHARS = 50_000


class ToolExecute(EventPayload):
    event_type = "tool.execute"
    tool_call_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    # Raw arguments: may hold PII (order ids, emails). Never logged; redacted before persisting.
    arguments: dict[str, Any] = Field(default_factory=dict)
    # After this instant the caller has moved on: the result is never reported as ok.
    deadline_at: datetime
    # Writes carry one; the tools service stores it with the effect (at most one effect).
    idempotency_key: str | None = Field(default=None, max_length=200)
    # The asking gateway's instance id (``GATEWAY_ID``).
    reply_to: str = Field(min_length=1, max_length=200)


class ToolCompleted(EventPayload):
    event_type = "tool.completed"
    tool_call_id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=100)
    status: Literal["ok", "error", "timeout"]
    # What the tool returned (ok), for the model to read.
    result: dict[str, Any] | None = None
    # Why it failed, written for the model to read (never a stack trace).
    error: str | None = Field(default=None, max_length=2000)
    duration_ms: int = Field(ge=0)
    attempts: int = Field(ge=0)
    reply_to: str = Field(min_length=1, max_length=200)


COMMANDS: tuple[type[EventPayload], ...] = (ToolExecute, ToolCompleted)
