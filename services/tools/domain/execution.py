"""What a tool execution takes and gives (pure data), and the errors backends raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Status = Literal["ok", "error", "timeout"]

# Messages the model reads (and turns into words for the caller). Never internals.
TIMED_OUT = (
    "The system did not answer in time. Tell the caller you could not reach it just now and "
    "offer to try again or to create a ticket."
)
EXPIRED = "The request expired before it could run; the caller has moved on."
UNAVAILABLE = "The system is unavailable right now. Tell the caller and offer a callback."
INTERNAL = "Something went wrong on our side while running this tool."


class BackendError(Exception):
    """A backend could not answer. ``message`` is for the model; ``retryable`` picks the policy.

    Retryable errors (the backend is down or overloaded) count against its circuit breaker and
    are retried when the tool's effect allows; others (refused request, bad config) are not.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class ToolCommand:
    """One request to run a tool, from a ``tool.execute`` command or the operator API."""

    tool_call_id: str
    call_id: str
    line_id: str
    name: str
    arguments: dict[str, Any]
    deadline_at: datetime
    # The writer's own key; when absent, writes are fenced by ``fence_key`` but not retried.
    idempotency_key: str | None
    # Identifies a redelivery of the same command (the envelope's event id).
    fence_key: str


@dataclass(frozen=True, slots=True)
class ToolRequest:
    """What a backend gets for one attempt."""

    name: str
    arguments: dict[str, Any]
    # Stored with a write's outcome: the command's idempotency key, else its fence key.
    idempotency_key: str
    tool_call_id: str
    call_id: str
    line_id: str
    # Seconds left before the command's deadline when this attempt started.
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    status: Status
    result: dict[str, Any] | None
    error: str | None
    duration_ms: int
    attempts: int
