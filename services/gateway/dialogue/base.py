"""One dialogue interface for every provider: messages and tools in, text and tool calls out.

Messages use the OpenAI chat shape (``role``/``content``, assistant ``tool_calls``, ``tool``
results with ``tool_call_id``), the lingua franca of the providers we adapt. A provider streams
``TextDelta`` as text is generated (so synthesis can start on the first sentence) and then any
``ToolCallRequest`` the model wants run; the caller executes them, appends the results and asks
again. Providers hold no per-call state: memory is the message list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

Message = dict[str, Any]


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call as the model asked for it; ``arguments`` is the model's raw JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class EndCall:
    """The turn's answer is a goodbye: hang up once it has played (a flow's ``then: end_call``)."""


DialogueOutput = TextDelta | ToolCallRequest | EndCall


class DialogueError(Exception):
    """The provider failed (unreachable, error status, malformed stream, timeout).

    ``retryable`` says whether asking again may work; the agent falls back either way, since a
    caller is waiting.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class DialogueProvider(Protocol):
    name: str

    def stream(
        self, messages: list[Message], tools: list[dict[str, Any]], *, max_tokens: int
    ) -> AsyncIterator[DialogueOutput]:
        """Generate the next assistant turn. Raises ``DialogueError`` on failure."""
        ...

    async def aclose(self) -> None: ...
