"""``python -m bench.escalation_eval FILE...``: scripted conversations through the escalation rules.

Each conversation (tests/escalation/conversations.yaml) is replayed as call events through
``EscalationEngine`` with the real sentiment scorer and profanity counter and demo-retail's
rules. Prints per kind: escalated in time / late / missed / false escalations and, for
escalations, the delay in caller turns after ``trigger_turn``. Exits 1 when an ``escalate``
conversation escalates later than ``trigger_turn + 2`` caller turns or not at all, or a ``stay``
conversation escalates.

An escalation counts "at caller turn k" when it fires on the events of caller turn k or on those
after it and before caller turn k + 1 (the agent's reply to it, a tool result, a key press).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.session.domain.backtest import first_escalation
from services.session.domain.rules import EscalationEngine
from shared.events import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    DtmfReceived,
    EventPayload,
    Interruption,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    new_event,
)
from shared.lines import SupportLine, load_lines

DEFAULT_FILE = Path("tests/escalation/conversations.yaml")
LINE_ID = "demo-retail"
MAX_LATE_TURNS = 2
MAX_CONVERSATIONS = 10_000  # a file with more is refused (the bench holds them all)
# Simulated time each kind of step takes (no_progress_s and tool windows read the clock).
STEP_S = {"caller": 8.0, "agent": 5.0, "tool": 2.0, "barge_in": 0.5, "dtmf": 1.0, "fallback": 0.1}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ToolStep(_Strict):
    name: str = Field(max_length=100)
    status: Literal["ok", "error", "timeout"] = "ok"


class Turn(_Strict):
    agent: str | None = Field(None, max_length=5000)
    caller: str | None = Field(None, max_length=5000)
    tool: ToolStep | None = None
    barge_in: bool | None = None
    dtmf: str | None = Field(None, pattern=r"^[0-9*#A-D]$")
    fallback: bool | None = None  # the dialogue provider failed (dialogue.fallback)

    @model_validator(mode="after")
    def _one_step(self) -> Turn:
        if sum(v is not None for v in self.model_dump().values()) != 1:
            raise ValueError("each turn is exactly one of agent, caller, tool, barge_in, dtmf")
        return self


class Conversation(_Strict):
    id: str = Field(max_length=100)
    kind: str = Field(max_length=50)
    expect: Literal["escalate", "stay"]
    trigger_turn: int | None = Field(None, ge=1)
    turns: list[Turn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _trigger(self) -> Conversation:
        if self.expect == "escalate" and self.trigger_turn is None:
            raise ValueError(f"{self.id}: an escalate conversation needs trigger_turn")
        return self


def load_conversations(path: Path) -> list[Conversation]:
    data = yaml.safe_load(path.read_text())
    items = data.get("conversations") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) > MAX_CONVERSATIONS:
        raise ValueError(f"{path}: expected 'conversations', a list of at most {MAX_CONVERSATIONS}")
    return [Conversation.model_validate(item) for item in items]


@dataclass(frozen=True)
class Outcome:
    conversation: Conversation
    turn: int | None  # caller turn of the escalation; None = never
    rule_id: str | None

    @property
    def delay(self) -> int | None:
        if self.turn is None or self.conversation.trigger_turn is None:
            return None
        return self.turn - self.conversation.trigger_turn

    @property
    def verdict(self) -> str:
        if self.conversation.expect == "stay":
            return "false" if self.turn is not None else "ok"
        if self.turn is None:
            return "missed"
        return "late" if (self.delay or 0) > MAX_LATE_TURNS else "ok"


def events(conversation: Conversation) -> Iterator[tuple[int, float, EventPayload]]:
    """``(caller turn, seconds since start, payload)`` for each event of the conversation."""
    caller_turn, clock, last_reply = 0, 0.0, ""
    yield 0, clock, CallStarted(channel="voice_agent", line_id=LINE_ID)
    for index, turn in enumerate(conversation.turns):
        if turn.caller is not None:
            caller_turn += 1
            clock += STEP_S["caller"]
            yield caller_turn, clock, TranscriptUser(item_id=f"item_{index}", text=turn.caller)
        elif turn.agent is not None:
            clock += STEP_S["agent"]
            last_reply = f"reply_{index}"
            yield caller_turn, clock, TranscriptAgent(reply_id=last_reply, text=turn.agent)
        elif turn.tool is not None:
            clock += STEP_S["tool"]
            call_id = f"tool_{index}"
            yield (
                caller_turn,
                clock,
                ToolCall(tool_call_id=call_id, name=turn.tool.name, executor="server"),
            )
            yield (
                caller_turn,
                clock,
                ToolResult(tool_call_id=call_id, status=turn.tool.status, duration_ms=400),
            )
        elif turn.barge_in:
            clock += STEP_S["barge_in"]
            yield caller_turn, clock, Interruption(reply_id=last_reply or "none", played_ms=800)
        elif turn.dtmf is not None:
            clock += STEP_S["dtmf"]
            yield caller_turn, clock, DtmfReceived(digit=turn.dtmf)
        elif turn.fallback:
            clock += STEP_S["fallback"]
            yield caller_turn, clock, DialogueFallback(provider="llm", reason="timeout")
    yield caller_turn, clock + 1, CallEnded(reason="caller_hangup", duration_s=clock + 1)


def replay(engine: EscalationEngine, conversation: Conversation) -> Outcome:
    """Run one conversation through the engine; when (if ever) it escalated."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    call_id = f"eval-{conversation.id}"
    envelopes = (
        (
            new_event(
                payload,
                call_id=call_id,
                source="escalation-eval",
                line_id=LINE_ID,
                occurred_at=start + timedelta(seconds=seconds),
            ),
            payload,
        )
        for _turn, seconds, payload in events(conversation)
    )
    hit = first_escalation(engine, envelopes)
    engine.forget(call_id)
    return (
        Outcome(conversation, hit[0], hit[2].rule_id) if hit else Outcome(conversation, None, None)
    )


def default_engine(line: SupportLine | None = None) -> EscalationEngine:
    from services.session.adapters.escalation_models import EscalationModels

    line = line or load_lines()[LINE_ID]
    return EscalationModels.load().engine({LINE_ID: line})


def report(outcomes: Sequence[Outcome]) -> str:
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.conversation.kind].append(outcome)
    rows = [
        f"{'kind':<16}{'n':>4}{'in time':>9}{'late':>6}{'missed':>8}{'false':>7}"
        f"{'delay mean':>12}{'delay max':>11}"
    ]
    for kind in sorted(by_kind):
        group = by_kind[kind]
        count: dict[str, int] = defaultdict(int)
        for outcome in group:
            count[outcome.verdict] += 1
        in_time = sum(1 for o in group if o.conversation.expect == "escalate" and o.verdict == "ok")
        delays = [o.delay for o in group if o.delay is not None]
        mean = f"{sum(delays) / len(delays):+.2f}" if delays else "-"
        worst = f"{max(delays):+d}" if delays else "-"
        rows.append(
            f"{kind:<16}{len(group):>4}{in_time:>9}{count['late']:>6}{count['missed']:>8}"
            f"{count['false']:>7}{mean:>12}{worst:>11}"
        )
    for outcome in outcomes:
        if outcome.verdict != "ok":
            rows.append(
                f"FAIL {outcome.conversation.id}: {outcome.verdict} (expected "
                f"{outcome.conversation.expect} at {outcome.conversation.trigger_turn}, got turn "
                f"{outcome.turn}, rule {outcome.rule_id})"
            )
    return "\n".join(rows)


def run(paths: Sequence[Path], engine: EscalationEngine | None = None) -> list[Outcome]:
    engine = engine or default_engine()
    return [replay(engine, c) for path in paths for c in load_conversations(path)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT_FILE])
    args = parser.parse_args(argv)
    outcomes = run(args.files)
    print(report(outcomes))
    failed = [o for o in outcomes if o.verdict != "ok"]
    print(f"conversations: {len(outcomes) - len(failed)} as expected, {len(failed)} not")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
