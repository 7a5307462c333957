"""The session service's event handler with fakes for its ports: one registry read and at most
one write per event, facts applied to the entry, one escalation per call."""

from __future__ import annotations

from typing import Any

from services.session.domain.registry import LiveSession
from services.session.handlers import Enqueue, Outgoing, SessionDeps, handle_call_event
from shared.events import (
    CallStarted,
    Envelope,
    EscalationRequested,
    EventPayload,
    Interruption,
    SentimentScored,
    TranscriptUser,
    new_event,
)
from shared.lines import SupportLine

LINE = SupportLine(line_id="demo", name="Demo", greeting="Hi", human_queue="tier1")


class FakeRegistry:
    def __init__(self) -> None:
        self.entries: dict[str, LiveSession] = {}
        self.gets = 0
        self.puts = 0

    async def get(self, call_id: str) -> LiveSession | None:
        self.gets += 1
        return self.entries.get(call_id)

    async def put(self, session: LiveSession) -> None:
        self.puts += 1
        self.entries[session.call_id] = session

    async def list(self, *, limit: int) -> list[LiveSession]:
        return list(self.entries.values())[:limit]

    async def checkpoint(self, call_id: str) -> dict[str, Any] | None:
        return None


class FakeEngine:
    """Scores every caller turn; asks for an escalation on every turn from the second on."""

    def __init__(self) -> None:
        self.turns = 0

    def observe(self, envelope: Envelope, payload: EventPayload) -> list[EventPayload]:
        if not isinstance(payload, TranscriptUser):
            return []
        self.turns += 1
        facts: list[EventPayload] = [SentimentScored(item_id=payload.item_id, score=-0.5)]
        if self.turns >= 2:
            facts.append(EscalationRequested(rule_id="angry", priority=60))
        return facts

    def forget(self, call_id: str) -> None:
        return None


def event(payload: EventPayload) -> Envelope:
    return new_event(payload, call_id="sess_1", line_id="demo", source="gw-1")


async def test_each_event_reads_the_entry_once_and_writes_it_at_most_once() -> None:
    registry = FakeRegistry()
    deps = SessionDeps(
        registry=registry, lines={"demo": LINE}, source="session-1", engine=FakeEngine()
    )
    started = CallStarted(channel="voice_agent", line_id="demo")
    await handle_call_event(event(started), started, deps)
    turn = TranscriptUser(item_id="u1", text="hello")
    out = await handle_call_event(event(turn), turn, deps)
    assert (registry.gets, registry.puts) == (2, 2)
    assert [o.envelope.type for o in out if isinstance(o, Outgoing)] == ["sentiment.scored"]
    entry = registry.entries["sess_1"]
    assert entry.user_turns == 1 and entry.sentiment == -0.5  # the fact is in the same write
    cut = Interruption(reply_id="r1", played_ms=10)
    await handle_call_event(event(cut), cut, deps)
    assert (registry.gets, registry.puts) == (3, 2)  # nothing the registry shows: no write


async def test_a_call_escalates_once_with_the_hold_command_before_the_queue() -> None:
    registry = FakeRegistry()
    deps = SessionDeps(
        registry=registry, lines={"demo": LINE}, source="session-1", engine=FakeEngine()
    )
    outs = []
    for n in range(1, 4):
        turn = TranscriptUser(item_id=f"u{n}", text="this is useless")
        outs.append(await handle_call_event(event(turn), turn, deps))
    escalation = outs[1]
    kinds = [o.envelope.type if isinstance(o, Outgoing) else "enqueue" for o in escalation]
    assert kinds == ["sentiment.scored", "escalation.requested", "handoff", "enqueue"]
    queued = next(o for o in escalation if isinstance(o, Enqueue))
    assert queued.escalation.queue == "tier1"  # the line's human queue
    assert registry.entries["sess_1"].escalation["rule_id"] == "angry"
    assert not any(isinstance(o, Enqueue) for o in outs[2])  # once per call
    # A restarted process (a fresh engine) still does not escalate the call again.
    deps.engine = FakeEngine()
    deps.engine.turns = 5  # type: ignore[attr-defined]
    turn = TranscriptUser(item_id="u9", text="still useless")
    again = await handle_call_event(event(turn), turn, deps)
    assert [o.envelope.type for o in again if isinstance(o, Outgoing)] == ["sentiment.scored"]


async def test_its_own_facts_coming_back_are_skipped() -> None:
    registry = FakeRegistry()
    deps = SessionDeps(
        registry=registry, lines={"demo": LINE}, source="session-1", engine=FakeEngine()
    )
    fact = SentimentScored(item_id="u1", score=0.1)
    mine = new_event(fact, call_id="sess_1", line_id="demo", source="session-1")
    assert await handle_call_event(mine, fact, deps) == []
    assert registry.gets == 0


def test_only_a_fresh_handoff_naming_an_agent_and_not_from_a_rule_is_a_takeover() -> None:
    from datetime import UTC, datetime, timedelta

    from services.session.handlers import takeover_of
    from shared.events import Handoff, Hangup, new_event

    now = datetime.now(UTC)

    def read(payload: Any, *, age_s: float = 1.0) -> Any:
        at = now - timedelta(seconds=age_s)
        envelope = new_event(payload, call_id="c1", source="analytics", occurred_at=at)
        return takeover_of(envelope, payload, now=now)

    taken = Handoff(issued_by="supervisor:0123456789ab", queue="q", agent_id="sup")
    assert read(taken) == taken
    assert read(taken, age_s=61) is None  # stale: a replay, the supervisor has moved on
    assert read(taken.model_copy(update={"issued_by": "rule:asked"})) is None
    assert read(Handoff(issued_by="supervisor:0123456789ab", queue="q")) is None
    assert read(Hangup(issued_by="supervisor:0123456789ab")) is None
