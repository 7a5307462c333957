"""Escalation signals and the engine, with fake scorers (the real ones: test_sentiment.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import pytest

from services.session.domain.rules import EscalationEngine
from shared.events import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    DtmfReceived,
    EscalationRequested,
    EventPayload,
    Interruption,
    SentimentScored,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    new_event,
)
from shared.lines import SupportLine

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class FakeScorer:
    """Scores by a table; anything else is neutral."""

    def __init__(self, scores: dict[str, float] | None = None) -> None:
        self.scores = scores or {}

    def score(self, text: str) -> float:
        return self.scores.get(text, 0.0)


class FakeProfanity:
    def count(self, text: str) -> int:
        return text.lower().split().count("darn")


def _line(*conditions: dict[str, Any], priority: int = 50, **rule: Any) -> SupportLine:
    rules = [{"id": "r1", "priority": priority, "when": {"any": list(conditions)}, **rule}]
    return SupportLine.model_validate(
        {
            "line_id": "l1",
            "name": "L",
            "human_queue": "humans",
            "escalation": rules,
            "config_hash": "sha256:abc",
        }
    )


class Call:
    """Feeds one call's events to an engine, a clock ticking per event."""

    def __init__(self, engine: EscalationEngine, call_id: str = "c1") -> None:
        self.engine, self.call_id, self.seconds, self.n = engine, call_id, 0.0, 0
        self.send(CallStarted(channel="voice_agent", line_id="l1"))

    def send(self, payload: EventPayload, after_s: float = 1.0) -> list[EventPayload]:
        self.seconds += after_s
        envelope = new_event(
            payload,
            call_id=self.call_id,
            source="test",
            line_id="l1",
            occurred_at=T0 + timedelta(seconds=self.seconds),
        )
        return self.engine.observe(envelope, payload)

    def caller(self, text: str, after_s: float = 1.0) -> list[EventPayload]:
        self.n += 1
        return self.send(TranscriptUser(item_id=f"u{self.n}", text=text), after_s)

    def agent(self, text: str, **kw: Any) -> list[EventPayload]:
        self.n += 1
        return self.send(TranscriptAgent(reply_id=f"a{self.n}", text=text, **kw))

    def tool(
        self, status: Literal["ok", "error", "timeout"], after_s: float = 1.0
    ) -> list[EventPayload]:
        self.n += 1
        return self.send(
            ToolResult(
                tool_call_id=f"t{self.n}",
                status=status,
                duration_ms=5,
            ),
            after_s,
        )


def _engine(
    line: SupportLine, scores: dict[str, float] | None = None, **kw: Any
) -> EscalationEngine:
    return EscalationEngine(FakeScorer(scores), {"l1": line}, FakeProfanity(), **kw)


def _escalations(events: list[EventPayload]) -> list[EscalationRequested]:
    return [e for e in events if isinstance(e, EscalationRequested)]


def test_asked_for_person_escalates_with_evidence_but_never_the_words() -> None:
    call = Call(_engine(_line({"signal": "asked_for_person", "threshold": 1}, priority=80)))

    assert _escalations(call.caller("The delivery person left it outside")) == []
    [decision] = _escalations(call.caller("Can I speak to a real person please"))

    assert decision.rule_id == "r1" and decision.queue == "humans" and decision.priority == 80
    assert decision.rules_version == "sha256:abc"
    [evidence] = decision.evidence
    assert evidence.signal == "asked_for_person" and evidence.item_ids == ["u2"]
    assert evidence.value == 1 and evidence.threshold == 1
    assert "person please" not in decision.model_dump_json()


def test_a_call_escalates_at_most_once_and_forget_drops_it() -> None:
    engine = _engine(_line({"signal": "asked_for_person", "threshold": 1}, queue="vip"))
    call = Call(engine)

    [first] = _escalations(call.caller("I want to talk to a human"))
    assert first.queue == "vip"
    assert _escalations(call.caller("agent, agent!")) == []
    assert engine.tracked_calls == 1
    call.send(CallEnded(reason="hangup", duration_s=3))
    assert engine.tracked_calls == 0


def test_sentiment_is_scored_for_each_caller_utterance_with_a_trend() -> None:
    call = Call(
        _engine(_line({"signal": "dtmf_zero", "threshold": 1}), {"a": 0.2, "b": -0.2, "c": -0.6})
    )

    scored = [e for t in ("a", "b", "c") for e in call.caller(t) if isinstance(e, SentimentScored)]

    assert [(s.item_id, s.score) for s in scored] == [("u1", 0.2), ("u2", -0.2), ("u3", -0.6)]
    assert scored[0].trend is None
    assert scored[1].trend == pytest.approx(-0.4) and scored[2].trend == pytest.approx(-0.4)


def test_sentiment_latest_and_trend_mean_and_slope() -> None:
    scores = {"ok": 0.0, "meh": -0.3, "bad": -0.6, "worse": -0.9}
    latest = Call(_engine(_line({"signal": "sentiment", "threshold": -0.8}), scores))
    assert not _escalations(latest.caller("bad")) and _escalations(latest.caller("worse"))

    mean = Call(
        _engine(_line({"signal": "sentiment_trend", "threshold": -0.5, "window_turns": 2}), scores)
    )
    assert not _escalations(mean.caller("worse"))  # one utterance is no trend
    assert not _escalations(mean.caller("ok"))  # mean -0.45
    assert not _escalations(mean.caller("worse"))  # still -0.45 over the last two
    assert _escalations(mean.caller("worse"))  # -0.9

    slope = Call(
        _engine(
            _line(
                {
                    "signal": "sentiment_trend",
                    "stat": "slope",
                    "threshold": -0.25,
                    "window_turns": 3,
                }
            ),
            scores,
        )
    )
    for text in ("ok", "meh"):
        assert not _escalations(slope.caller(text))
    [decision] = _escalations(slope.caller("bad"))
    assert decision.evidence[0].value == pytest.approx(-0.3)
    assert decision.evidence[0].item_ids == ["u1", "u2", "u3"]


def test_profanity_counts_within_its_window() -> None:
    call = Call(_engine(_line({"signal": "profanity", "threshold": 2, "window_turns": 2})))

    assert not _escalations(call.caller("darn it"))
    assert not _escalations(call.caller("fine"))
    assert not _escalations(call.caller("darn"))  # the first fell out of the window
    assert _escalations(call.caller("darn"))


def test_agent_fallbacks_count_replies_and_provider_fallbacks_once_each() -> None:
    call = Call(_engine(_line({"signal": "agent_fallbacks", "threshold": 2, "window_turns": 4})))

    call.send(DialogueFallback(provider="llm", reason="timeout"))
    assert not _escalations(call.agent("Sorry, I didn't get that. Could you say it again?"))
    assert not _escalations(call.agent("Your order ships tomorrow."))
    assert _escalations(call.agent("Sorry, I didn't catch that."))


def test_repeated_questions_and_caller_repeats_make_a_loop() -> None:
    call = Call(_engine(_line({"signal": "repeated_questions", "threshold": 2})))

    call.agent("Sure. What's your order number?")
    call.caller("ORD 123")
    assert not _escalations(call.agent("Sorry, I couldn't find that. What's your order number?"))
    assert _escalations(call.caller("ORD 123"))  # the caller repeating is the second repeat


def test_routine_questions_and_short_answers_are_not_a_loop() -> None:
    call = Call(_engine(_line({"signal": "repeated_questions", "threshold": 1})))

    for _ in range(3):
        assert not _escalations(call.agent("Done. Is there anything else I can help with?"))
        assert not _escalations(call.caller("yes"))


def test_caller_corrections_and_loop_complaints_make_a_loop() -> None:
    call = Call(_engine(_line({"signal": "repeated_questions", "threshold": 2})))

    call.agent("I can help you cancel your order. What's the order number?")
    assert not _escalations(call.caller("no, don't cancel it, I want to add a scarf"))
    call.agent("Would you like to cancel your order?")
    escalated = _escalations(call.caller("you keep asking me that. adding, not cancelling"))
    assert escalated and escalated[0].evidence[0].signal == "repeated_questions"
    assert escalated[0].evidence[0].item_ids == ["u2", "u4"]


def test_one_correction_in_a_calm_call_is_not_a_loop() -> None:
    call = Call(_engine(_line({"signal": "repeated_questions", "threshold": 2})))

    call.agent("Is it the red scarf?")
    assert not _escalations(call.caller("no, not the red one, the blue one"))
    call.agent("Got it, the blue scarf ships tomorrow.")
    assert not _escalations(call.caller("no, not yet, I'll check the email later"))


class FakeEmbedder:
    """Unit vectors by a table: texts mapped to the same vector say the same thing."""

    def __init__(self, vectors: dict[str, tuple[float, ...]]) -> None:
        self.vectors = vectors
        self.seen: list[str] = []

    def embed(self, text: str) -> tuple[float, ...]:
        self.seen.append(text)
        return self.vectors.get(text, (0.0, 0.0, 1.0))


def test_agent_saying_the_same_thing_in_other_words_is_a_loop() -> None:
    said = [
        "You can find our returns policy at example dot com slash returns.",
        "Our returns policy is available at example dot com slash returns.",
        "For details on returns, please visit example dot com slash returns.",
    ]
    normalised = [
        "you can find our returns policy at example dot com slash returns",
        "our returns policy is available at example dot com slash returns",
        "for details on returns please visit example dot com slash returns",
    ]
    embedder = FakeEmbedder({text: (0.6, 0.8, 0.0) for text in normalised})
    line = _line({"signal": "repeated_questions", "threshold": 2})
    call = Call(_engine(line, embedder=embedder))

    assert not _escalations(call.agent(said[0]))
    assert not _escalations(call.agent(said[1] + " Is there anything else?"))
    escalated = _escalations(call.agent(said[2]))
    assert escalated and escalated[0].evidence[0].item_ids == ["a2", "a3"]
    assert embedder.seen == normalised  # the routine question is not part of what was said

    # Without the embedder the words are compared: too different to count.
    wordwise = Call(_engine(line))
    assert not any(_escalations(wordwise.agent(text)) for text in said)


def test_different_replies_are_not_a_loop_even_with_the_embedder() -> None:
    line = _line({"signal": "repeated_questions", "threshold": 1})
    embedder = FakeEmbedder({"it arrives tomorrow at noon": (1.0, 0.0, 0.0)})
    call = Call(_engine(line, embedder=embedder))

    assert not _escalations(call.agent("It arrives tomorrow at noon."))
    assert not _escalations(call.agent("That one arrived on Monday morning."))
    assert not _escalations(call.agent("Sorry, I didn't catch that."))  # a fallback, not said


def test_the_same_answer_about_other_orders_is_not_a_loop() -> None:
    line = _line({"signal": "repeated_questions", "threshold": 1})
    embedder = FakeEmbedder({})  # every text the same vector: only the facts differ
    call = Call(_engine(line, embedder=embedder))

    assert not _escalations(call.agent("ORD-1 is at the depot and arrives on Monday."))
    assert not _escalations(call.agent("ORD-2 is at the depot and arrives on Thursday."))
    assert _escalations(call.agent("ORD 2 is at the local depot; it arrives on Thursday."))


def test_anger_cues_lower_the_score_the_rules_and_the_event_see() -> None:
    sarcasm = "a note. great. fantastic."
    line = _line({"signal": "sentiment", "threshold": -0.5})
    call = Call(_engine(line, {sarcasm: 0.89, "great, thanks": 0.8}))

    assert not _escalations(call.caller("great, thanks"))
    events = call.caller(sarcasm)
    scored = [e for e in events if isinstance(e, SentimentScored)]
    assert scored[0].score == -0.6
    assert _escalations(events)


def test_tool_failures_within_seconds_and_turns() -> None:
    by_time = Call(_engine(_line({"signal": "tool_failures", "threshold": 2, "window_s": 60})))
    assert not _escalations(by_time.tool("error"))
    assert not _escalations(by_time.tool("timeout", after_s=90))  # the first is too old
    assert not _escalations(by_time.tool("ok"))
    assert _escalations(by_time.tool("error", after_s=10))

    by_turns = Call(_engine(_line({"signal": "tool_failures", "threshold": 2, "window_turns": 1})))
    by_turns.caller("first")
    by_turns.tool("error")
    by_turns.caller("second")
    assert not _escalations(by_turns.tool("timeout"))
    assert _escalations(by_turns.tool("timeout"))


def test_barge_in_rate_needs_enough_replies() -> None:
    call = Call(_engine(_line({"signal": "barge_in_rate", "threshold": 0.9, "window_turns": 5})))

    call.agent("One")
    assert not _escalations(call.send(Interruption(reply_id="a1", played_ms=300)))  # 1 of 1
    call.agent("Two", interrupted=True)
    assert not _escalations(call.agent("Three"))  # 2 of 3
    assert _escalations(call.send(Interruption(reply_id="a3", played_ms=300)))  # 3 of 3


def test_dtmf_zero_only_for_the_zero_key() -> None:
    call = Call(_engine(_line({"signal": "dtmf_zero", "threshold": 1})))

    assert not _escalations(call.send(DtmfReceived(digit="5")))
    assert _escalations(call.send(DtmfReceived(digit="0")))


def test_no_progress_restarts_at_each_successful_tool_result() -> None:
    call = Call(_engine(_line({"signal": "no_progress_s", "threshold": 100})))

    assert not _escalations(call.caller("hello", after_s=60))
    assert not _escalations(call.tool("ok", after_s=30))  # 91 s: progress
    assert not _escalations(call.tool("error", after_s=90))  # 90 s since the ok result
    [decision] = _escalations(call.caller("still here", after_s=20))
    assert decision.evidence[0].value == pytest.approx(110)


def test_all_needs_every_condition_and_the_highest_priority_rule_wins() -> None:
    line = SupportLine.model_validate(
        {
            "line_id": "l1",
            "name": "L",
            "escalation": [
                {
                    "id": "low",
                    "priority": 10,
                    "when": {"any": [{"signal": "dtmf_zero", "threshold": 1}]},
                },
                {
                    "id": "high",
                    "priority": 90,
                    "when": {
                        "all": [
                            {"signal": "dtmf_zero", "threshold": 1},
                            {"signal": "sentiment", "threshold": -0.5},
                        ]
                    },
                },
                {
                    "id": "off",
                    "priority": 100,
                    "enabled": False,
                    "when": {"any": [{"signal": "dtmf_zero", "threshold": 1}]},
                },
            ],
        }
    )
    calm = Call(_engine(line, {"bad": -0.7}), "calm")
    calm.caller("fine")
    [decision] = _escalations(calm.send(DtmfReceived(digit="0")))
    assert decision.rule_id == "low" and decision.queue == "general"

    upset = Call(_engine(line, {"bad": -0.7}), "upset")
    upset.caller("bad")
    [decision] = _escalations(upset.send(DtmfReceived(digit="0")))
    assert decision.rule_id == "high"
    assert {e.signal for e in decision.evidence} == {"dtmf_zero", "sentiment"}


def test_calls_tracked_are_bounded_least_recent_first() -> None:
    engine = _engine(_line({"signal": "dtmf_zero", "threshold": 2}), max_calls=2)
    first, second = Call(engine, "first"), Call(engine, "second")
    first.send(DtmfReceived(digit="0"))
    second.send(DtmfReceived(digit="0"))
    Call(engine, "third")

    assert engine.tracked_calls == 2
    # "first" was seen least recently: forgotten, its zero with it.
    assert not _escalations(first.send(DtmfReceived(digit="0")))
    assert _escalations(first.send(DtmfReceived(digit="0")))


def test_an_unknown_line_gets_sentiment_but_no_rules() -> None:
    engine = _engine(_line({"signal": "dtmf_zero", "threshold": 1}))
    payload = DtmfReceived(digit="0")
    envelope = new_event(payload, call_id="x", source="t", line_id="other")

    assert engine.observe(envelope, payload) == []
    text = TranscriptUser(item_id="i", text="hi")
    out = engine.observe(new_event(text, call_id="x", source="t", line_id="other"), text)
    assert [type(e) for e in out] == [SentimentScored]


def test_an_escalation_already_on_the_topic_stops_further_ones() -> None:
    call = Call(_engine(_line({"signal": "dtmf_zero", "threshold": 1})))

    call.send(EscalationRequested(rule_id="flow"))
    assert not _escalations(call.send(DtmfReceived(digit="0")))


def test_lines_given_as_a_callable_are_read_at_each_event() -> None:
    book = {"l1": _line({"signal": "dtmf_zero", "threshold": 2})}
    call = Call(EscalationEngine(FakeScorer(), lambda: book, FakeProfanity()))

    assert not _escalations(call.send(DtmfReceived(digit="0")))
    book = {"l1": _line({"signal": "dtmf_zero", "threshold": 1})}  # a reload
    assert _escalations(call.send(DtmfReceived(digit="5")))


def test_the_engine_serves_the_backtest_of_stored_calls() -> None:
    from services.session.domain.backtest import backtest

    line = _line({"signal": "asked_for_person", "threshold": 1})
    stored = {
        "call_id": "old",
        "line_id": "l1",
        "started_at": "2025-01-01T10:00:00Z",
        "timeline": [
            {"type": "turn", "role": "user", "text": "where is my order", "item_id": "u1"},
            {"type": "turn", "role": "agent", "text": "Which order?", "item_id": "a1"},
            {"type": "turn", "role": "user", "text": "get me a human", "item_id": "u2"},
        ],
    }

    report = backtest([stored], lambda: _engine(line))

    [found] = report.would_escalate
    assert found.rule_id == "r1" and found.caller_turn == 2 and report.newly_escalated == 1
