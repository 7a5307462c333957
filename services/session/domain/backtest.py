"""Rule backtests: replay stored calls through a rule set and report who would have escalated.

The analytics call log keeps redacted turns, tool calls and interruptions of every call; a
backtest turns a stored call back into the call events the escalation engine reads, in time
order, and notes the first escalation and at which caller turn it fired. Redacted text scores
the same for these signals: a placeholder like ``[PERSON]`` carries no sentiment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from services.session.ports import EscalationEngine
from shared.events import (
    CallEnded,
    CallStarted,
    Envelope,
    EscalationRequested,
    EventPayload,
    Interruption,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    new_event,
)

SOURCE = "backtest"
# Text longer than the catalog allows cannot come from a stored call; it is cut, not refused.
MAX_TEXT = 20_000


@dataclass(frozen=True)
class WouldEscalate:
    call_id: str
    rule_id: str
    caller_turn: int  # 1-based: the caller turn on (or after) which the rule fired
    at: str | None
    reasons: list[str]
    queue: str | None
    priority: int
    # Did the call really escalate (under the rules of the time)?
    escalated_then: bool


@dataclass
class BacktestReport:
    calls: int = 0
    would_escalate: list[WouldEscalate] = field(default_factory=list)
    by_rule: dict[str, int] = field(default_factory=dict)
    # Calls that escalated then and would not now, and the reverse: what the change does.
    newly_escalated: int = 0
    no_longer_escalated: int = 0


def stored_call_events(call: dict[str, Any]) -> list[tuple[Envelope, EventPayload]]:
    """A stored call (``GET /v1/calls/{id}`` of the analytics API) as call events."""
    call_id, line_id = str(call["call_id"]), str(call.get("line_id") or "")

    def event(payload: EventPayload, at: Any) -> tuple[Envelope, EventPayload]:
        moment = _moment(at) or _moment(call.get("started_at")) or datetime.now(UTC)
        envelope = new_event(
            payload, call_id=call_id, line_id=line_id, source=SOURCE, occurred_at=moment
        )
        return envelope, payload

    out = [
        event(
            CallStarted(channel=call.get("channel") or "voice_agent", line_id=line_id),
            call.get("started_at"),
        )
    ]
    for entry in call.get("timeline") or []:
        kind = entry.get("type")
        at = entry.get("at")
        if kind == "turn":
            text = str(entry.get("text") or "")[:MAX_TEXT]
            item = str(entry.get("item_id") or uuid.uuid4().hex[:12])
            if entry.get("role") == "user":
                out.append(event(TranscriptUser(item_id=item, text=text), at))
            else:
                interrupted = bool(entry.get("interrupted"))
                reply = TranscriptAgent(reply_id=item, text=text, interrupted=interrupted)
                out.append(event(reply, at))
        elif kind == "tool_call":
            out.extend(_tool(entry, event))
        elif kind == "interruption":
            reply_id = str(entry.get("reply_id") or "r")
            played = int(entry.get("played_ms") or 0)
            out.append(event(Interruption(reply_id=reply_id, played_ms=played), at))
    if call.get("ended_at"):
        duration = float(call.get("duration_s") or 0.0)
        ended = CallEnded(reason=str(call.get("end_reason") or "ended"), duration_s=duration)
        out.append(event(ended, call.get("ended_at")))
    return out


def _tool(
    entry: dict[str, Any], event: Callable[[EventPayload, Any], tuple[Envelope, EventPayload]]
) -> list[tuple[Envelope, EventPayload]]:
    tool_call_id = str(entry.get("tool_call_id") or uuid.uuid4().hex[:12])
    executor = "client" if entry.get("executor") == "client" else "server"
    out = [
        event(
            ToolCall(tool_call_id=tool_call_id, name=str(entry.get("name") or "?"),
                     executor=executor),
            entry.get("called_at") or entry.get("at"),
        )
    ]  # fmt: skip
    status = entry.get("status")
    if status in ("ok", "error", "timeout"):
        duration = int(entry.get("duration_ms") or 0)
        result = ToolResult(tool_call_id=tool_call_id, status=status, duration_ms=duration)
        out.append(event(result, entry.get("completed_at") or entry.get("at")))
    return out


def first_escalation(
    engine: EscalationEngine, events: Iterable[tuple[Envelope, EventPayload]]
) -> tuple[int, Envelope, EscalationRequested] | None:
    """Feed a call's events to ``engine``; the first escalation with the caller turn it came on
    (or after: events between caller turns ``k`` and ``k+1`` count as turn ``k``), else None."""
    turn = 0
    for envelope, payload in events:
        if isinstance(payload, TranscriptUser):
            turn += 1
        for fact in engine.observe(envelope, payload):
            if isinstance(fact, EscalationRequested):
                return turn, envelope, fact
    return None


def backtest(
    calls: Iterable[dict[str, Any]], engine: Callable[[], EscalationEngine]
) -> BacktestReport:
    """Replay each stored call through a fresh engine; the first escalation of each counts."""
    report = BacktestReport()
    for call in calls:
        report.calls += 1
        then = bool(call.get("escalated"))
        runner = engine()
        hit = first_escalation(runner, stored_call_events(call))
        runner.forget(str(call.get("call_id")))
        if hit is not None:
            turn, envelope, fact = hit
            found = WouldEscalate(
                call_id=envelope.call_id,
                rule_id=fact.rule_id,
                caller_turn=max(turn, 1),
                at=envelope.occurred_at.isoformat(),
                reasons=list(fact.reasons),
                queue=fact.queue,
                priority=fact.priority,
                escalated_then=then,
            )
            report.would_escalate.append(found)
            report.by_rule[found.rule_id] = report.by_rule.get(found.rule_id, 0) + 1
        report.newly_escalated += hit is not None and not then
        report.no_longer_escalated += hit is None and then
    return report


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
