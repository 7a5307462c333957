"""The session service's ports."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from services.session.domain.meaning import CallerMeaning
from services.session.domain.registry import LiveSession
from shared.events import Envelope, EscalationRequested, EventPayload


class SessionRegistry(Protocol):
    """Live calls by id, outside the process (several session instances share it)."""

    async def get(self, call_id: str) -> LiveSession | None: ...

    async def put(self, session: LiveSession) -> None: ...

    async def list(self, *, limit: int) -> list[LiveSession]: ...

    async def checkpoint(self, call_id: str) -> dict[str, Any] | None: ...


class EscalationEngine(Protocol):
    """Per-call signals and the line's rules (``domain.rules``)."""

    def observe(self, envelope: Envelope, payload: EventPayload) -> list[EventPayload]:
        """``sentiment.scored`` facts, and at most one ``escalation.requested`` per call."""
        ...

    def forget(self, call_id: str) -> None: ...


class HandoffQueue(Protocol):
    """The human-agent queue (the agent desk)."""

    async def enqueue(self, envelope: Envelope, escalation: EscalationRequested) -> None: ...

    async def caller_left(self, call_id: str) -> None: ...

    def bridged(self, call_id: str) -> None:
        """The agent's bridge opened (``handoff.completed``): the handoff is done."""
        ...


class SentimentScorer(Protocol):
    """Scores one caller utterance: -1 (angry, upset) .. 0 (neutral) .. 1 (pleased).

    Synchronous and safe to call from several threads at once (an async caller runs it in a
    thread). The score is about the caller's mood towards the service: a calm complaint about
    a product is mildly negative at most, frustration with the service is strongly negative.
    """

    def score(self, text: str) -> float: ...


class SentenceEmbedder(Protocol):
    """Sentence embeddings of unit length: the dot product of two is their cosine similarity.

    Synchronous and thread-safe, like the scorer (the same model may serve both).
    """

    def embed(self, text: str) -> Sequence[float]: ...


class CallerCues(Protocol):
    """Reads what a caller utterance means where no text rule names its phrasing: a request
    for a person, a loop complaint, and its sentence embedding (``domain.meaning``).

    Synchronous and thread-safe, like the scorer (the same model serves both; an utterance the
    scorer has just read is not embedded again).
    """

    def read(self, text: str) -> CallerMeaning: ...


class ProfanityCounter(Protocol):
    """Counts swear words in one utterance. Synchronous, thread-safe."""

    def count(self, text: str) -> int: ...


# The agent desk's ports (services/session/handoff_desk.py). The Kafka producer is a Publisher as
# it is; the integrator implements CallContext.


class Publisher(Protocol):
    def publish(self, topic: str, envelope: Envelope) -> bool:
        """Queue the envelope for ``topic``; False when it was dropped (buffer full, closed)."""
        ...


class CallContext(Protocol):
    async def describe(self, call_id: str) -> dict[str, Any]:
        """What an agent sees in an offer: ``summary`` (str), ``transcript`` ([{role, text}])
        and anything else useful; redacted (never the raw words of the caller)."""
        ...


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (routing times)."""
        ...

    def wall(self) -> datetime:
        """The time of day, UTC (event times, deadlines)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> datetime:
        return datetime.now(UTC)
