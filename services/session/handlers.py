"""The session service's handlers over call events: the live registry, escalation, handoff.

``handle_call_event`` runs for every record of ``cc.call-events.v1`` (at least once, in order
per call). It updates the call's registry entry, feeds the escalation engine, and returns what
must be published: ``sentiment.scored`` and ``escalation.requested`` facts, and on an escalation
the ``handoff`` command that puts the caller on hold for a person, then the call's place in the
human-agent queue (``Enqueue``). It publishes nothing itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter

from services.session.domain.registry import LiveSession, apply_event
from services.session.ports import EscalationEngine, HandoffQueue, SessionRegistry
from shared.events import (
    CallEnded,
    Envelope,
    EscalationRequested,
    EventPayload,
    Handoff,
    HandoffCompleted,
    TranscriptAgent,
    TranscriptUser,
    new_event,
)
from shared.kafka.errors import DependencyUnavailableError
from shared.lines import SupportLine

log = logging.getLogger(__name__)

ESCALATIONS = Counter(
    "switchboard_escalations_total",
    "Calls escalated to a person, by the rule that matched.",
    ["rule"],
)

CALL_EVENTS_TOPIC = "cc.call-events.v1"
CALL_CONTROL_TOPIC = "cc.call-control.v1"
# A takeover read this long after it was issued is stale (a new consumer group replaying the
# topic, a long outage): the supervisor has moved on, so it is skipped rather than offered.
MAX_TAKEOVER_AGE = timedelta(seconds=60)


@dataclass(frozen=True)
class Outgoing:
    """A record to publish: ``topic`` is the logical topic name."""

    topic: str
    envelope: Envelope


@dataclass(frozen=True)
class Enqueue:
    """Queue the escalated call for a person, once its ``handoff`` command is on the bus (so the
    gateway holds the call before any agent can accept it)."""

    envelope: Envelope
    escalation: EscalationRequested


Result = Outgoing | Enqueue


@dataclass
class SessionDeps:
    registry: SessionRegistry
    lines: dict[str, SupportLine]
    source: str  # this instance's id, the ``source`` of what it publishes
    engine: EscalationEngine | None = None
    queue: HandoffQueue | None = None


async def handle_call_event(
    envelope: Envelope, payload: EventPayload, deps: SessionDeps
) -> list[Result]:
    """Update the registry and the escalation signals for one call event.

    The call's registry entry is read once, changed in memory by the event and by the facts it
    produces, and written once: one read and at most one write per event.
    """
    if envelope.source == deps.source:
        return []  # our own sentiment/escalation facts: already applied when produced
    before = await _get(envelope.call_id, deps)
    entry = apply_event(before, envelope, payload) or before
    out: list[Result] = []
    if deps.engine is not None:
        if isinstance(payload, TranscriptUser | TranscriptAgent):
            # Scoring takes milliseconds of CPU: off the event loop (one event at a time).
            facts = await asyncio.to_thread(deps.engine.observe, envelope, payload)
        else:
            facts = deps.engine.observe(envelope, payload)
        for fact in facts:
            # At most one escalation per call, also across a restart: the entry remembers.
            if isinstance(fact, EscalationRequested) and entry is not None and entry.escalation:
                continue
            results = (
                _escalate(envelope, fact, deps)
                if isinstance(fact, EscalationRequested)
                else [_fact(envelope, fact, deps)]
            )
            out.extend(results)
            published = next(r for r in results if isinstance(r, Outgoing)).envelope
            entry = apply_event(entry, published, fact) or entry
    if entry is not None and entry != before:
        await _put(entry, deps)
    if isinstance(payload, HandoffCompleted) and deps.queue is not None:
        deps.queue.bridged(envelope.call_id)
    if isinstance(payload, CallEnded):
        if deps.engine is not None:
            deps.engine.forget(envelope.call_id)
        if deps.queue is not None:
            await deps.queue.caller_left(envelope.call_id)
    return out


def _escalate(envelope: Envelope, fact: EscalationRequested, deps: SessionDeps) -> list[Result]:
    """The escalation fact, the ``handoff`` command that holds the caller, and the queueing."""
    line = deps.lines.get(envelope.line_id)
    queue = fact.queue or (line.human_queue if line else "general")
    fact = fact.model_copy(update={"queue": queue})
    requested = _fact(envelope, fact, deps)
    hold = line.handoff.hold_message if line else None
    dial = line.handoff.dial if line else None  # phone calls only; the gateway decides
    command = Handoff(issued_by=f"rule:{fact.rule_id}", queue=queue, say=hold, dial=dial)
    log.info("escalating a call", extra={"call_id": envelope.call_id, "rule": fact.rule_id})
    ESCALATIONS.labels(fact.rule_id).inc()
    return [
        requested,
        Outgoing(CALL_CONTROL_TOPIC, _envelope(envelope, command, deps)),
        Enqueue(requested.envelope, fact),
    ]


def _fact(envelope: Envelope, fact: EventPayload, deps: SessionDeps) -> Outgoing:
    return Outgoing(CALL_EVENTS_TOPIC, _envelope(envelope, fact, deps))


def _envelope(about: Envelope, payload: EventPayload, deps: SessionDeps) -> Envelope:
    return new_event(payload, call_id=about.call_id, line_id=about.line_id, source=deps.source)


async def _get(call_id: str, deps: SessionDeps) -> LiveSession | None:
    try:
        return await deps.registry.get(call_id)
    except Exception as exc:
        raise DependencyUnavailableError("session registry (Redis) unavailable") from exc


async def _put(entry: LiveSession, deps: SessionDeps) -> None:
    try:
        await deps.registry.put(entry)
    except Exception as exc:
        raise DependencyUnavailableError("session registry (Redis) unavailable") from exc


def takeover_of(envelope: Envelope, payload: EventPayload, *, now: datetime) -> Handoff | None:
    """The supervisor's takeover a ``cc.call-control.v1`` record carries, if it is one: a
    ``handoff`` naming a desk agent that no rule of ours issued, and not stale."""
    if not isinstance(payload, Handoff) or payload.agent_id is None:
        return None
    if payload.issued_by.startswith("rule:"):
        return None
    if now - envelope.occurred_at > MAX_TAKEOVER_AGE:
        log.warning("stale takeover skipped", extra={"call_id": envelope.call_id})
        return None
    return payload
