"""How a call event becomes (redacted) call-log rows and summary counters."""

from __future__ import annotations

from datetime import UTC, datetime

from services.analytics.domain.call_log import (
    CallerMemory,
    CallLogChange,
    change_for,
    redact_payload,
)
from shared.events import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    Envelope,
    EscalationRequested,
    EventPayload,
    HandoffCompleted,
    Interruption,
    SentimentScored,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
    new_event,
)
from tests.support.fakes import FakeRedactor

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PHONE = "+1 415 555 0132"
CARD = "4111 1111 1111 1111"
EMAIL = "jane@example.com"


def _redactor() -> FakeRedactor:
    return FakeRedactor({PHONE: "PHONE_NUMBER", CARD: "CREDIT_CARD", EMAIL: "EMAIL_ADDRESS"})


def _envelope(payload: EventPayload, call_id: str = "sess_1") -> Envelope:
    return new_event(
        payload, call_id=call_id, source="gateway-1", line_id="demo-retail", occurred_at=WHEN
    )


def _change(
    payload: EventPayload, redactor: FakeRedactor | None = None, previous: str | None = None
) -> tuple[Envelope, CallLogChange]:
    envelope = _envelope(payload)
    return envelope, change_for(
        envelope, payload, redactor=redactor or _redactor(), previous_user_text=previous
    )


def test_a_caller_turn_becomes_a_redacted_turn_row_and_counts_as_a_user_turn() -> None:
    payload = TranscriptUser(
        item_id="item_1", text=f"my card is {CARD} for ORD-77315", started_ms=10, ended_ms=900
    )

    envelope, change = _change(payload)

    [(table, row)] = change.rows
    assert table == "turns"
    assert row["role"] == "user"
    assert row["text"] == "my card is [CREDIT_CARD] for ORD-77315"
    assert (row["event_id"], row["occurred_at"], row["call_id"]) == (
        envelope.event_id, WHEN, "sess_1"
    )  # fmt: skip
    assert row["line_id"] == "demo-retail"
    assert (row["started_ms"], row["ended_ms"], row["interrupted"]) == (10, 900, False)
    assert change.counters == {"user_turns": 1}
    assert change.payload["text"] == row["text"]
    assert CARD not in str(change.payload)


def test_the_previous_caller_turn_is_handed_to_the_redactor() -> None:
    redactor = _redactor()

    _change(TranscriptUser(item_id="i2", text="one one one one"), redactor, previous="card is")

    assert redactor.calls == [("one one one one", "card is")]


def test_an_agent_turn_is_redacted_without_the_callers_previous_turn() -> None:
    redactor = _redactor()
    payload = TranscriptAgent(reply_id="reply_1", text=f"I have {PHONE} on file", interrupted=True)

    _, change = _change(payload, redactor, previous="whatever the caller said")

    [(_, row)] = change.rows
    assert row["text"] == "I have [PHONE_NUMBER] on file"
    assert row["role"] == "agent" and row["item_id"] == "reply_1" and row["interrupted"]
    assert redactor.calls == [(f"I have {PHONE} on file", None)]
    assert change.counters == {"agent_turns": 1}


def test_call_started_sets_the_summary_with_the_caller_redacted() -> None:
    _, change = _change(CallStarted(channel="twilio", line_id="demo-retail", caller=PHONE))

    assert change.call_fields["channel"] == "twilio"
    assert change.call_fields["caller"] == "[PHONE_NUMBER]"
    assert change.call_fields["started_at"] == WHEN
    assert PHONE not in str(change.payload)
    assert change.rows == ()


def test_call_ended_sets_end_fields() -> None:
    _, change = _change(CallEnded(reason="client_ended", duration_s=12.5))

    assert change.call_fields == {
        "ended_at": WHEN, "end_reason": "client_ended", "duration_s": 12.5
    }  # fmt: skip


def test_a_tool_call_keeps_its_name_and_redacts_its_arguments() -> None:
    payload = ToolCall(
        tool_call_id="t1",
        name="lookup_customer",
        arguments={"email": EMAIL, "order_id": "ORD-77315"},
        executor="server",
    )

    _, change = _change(payload)

    assert change.tool_call is not None
    assert change.tool_call.tool_call_id == "t1"
    assert change.tool_call.fields["name"] == "lookup_customer"
    assert change.tool_call.fields["arguments"] == {
        "email": "[EMAIL_ADDRESS]", "order_id": "ORD-77315"
    }  # fmt: skip
    assert change.counters == {"tool_calls": 1}
    assert change.tools_used == ("lookup_customer",)
    assert EMAIL not in str(change.payload)


def test_tool_results_count_errors_and_timeouts_apart() -> None:
    _, ok = _change(ToolResult(tool_call_id="t1", status="ok", duration_ms=40))
    _, error = _change(ToolResult(tool_call_id="t2", status="error", duration_ms=40))
    _, timeout = _change(ToolResult(tool_call_id="t3", status="timeout", duration_ms=3000))

    assert ok.counters == {}
    assert error.counters == {"tool_errors": 1}
    assert timeout.counters == {"tool_timeouts": 1}
    assert timeout.tool_call is not None
    assert timeout.tool_call.fields["status"] == "timeout"
    assert timeout.tool_call.fields["duration_ms"] == 3000


def test_turn_metrics_add_voice_to_voice_to_the_summary() -> None:
    payload = TurnMetrics(turn=3, stages_ms={"stt": 120.0, "voice_to_voice": 840.0})

    _, change = _change(payload)

    [(table, row)] = change.rows
    assert table == "turn_metrics"
    assert row["voice_to_voice_ms"] == 840.0 and row["turn"] == 3
    assert change.counters == {"v2v_sum_ms": 840.0, "v2v_count": 1}
    assert change.maximums == {"v2v_max_ms": 840.0}


def test_turn_metrics_without_voice_to_voice_count_nothing() -> None:
    _, change = _change(TurnMetrics(turn=1, stages_ms={"stt": 80.0}))

    assert change.counters == {}
    assert change.rows[0][1]["voice_to_voice_ms"] is None


def test_sentiment_interruptions_fallbacks_and_escalations_have_rows_and_counters() -> None:
    _, sentiment = _change(SentimentScored(item_id="i1", score=-0.6, trend=-0.2))
    _, barge = _change(Interruption(reply_id="r1", played_ms=900))
    _, fallback = _change(DialogueFallback(provider="llm", reason="timeout"))
    _, escalation = _change(
        EscalationRequested(rule_id="anger", reasons=[f"caller said {PHONE}"], score=-0.8)
    )
    _, handoff = _change(HandoffCompleted(agent_id="agent-7", target="desk"))

    assert sentiment.counters == {"sentiment_sum": -0.6, "sentiment_count": 1}
    assert sentiment.minimums == {"sentiment_min": -0.6}
    assert barge.rows[0][0] == "interruptions" and barge.counters == {"interruptions": 1}
    assert fallback.counters == {"fallbacks": 1}
    [(table, row)] = escalation.rows
    assert table == "escalations" and row["kind"] == "requested" and row["rule_id"] == "anger"
    assert row["reasons"] == ["caller said [PHONE_NUMBER]"]
    assert escalation.counters == {"escalations": 1}
    assert handoff.rows[0][1]["kind"] == "handoff_completed"
    assert handoff.counters == {"handoffs": 1}


def test_identifier_fields_are_not_sent_to_the_redactor() -> None:
    redactor = _redactor()

    out = redact_payload(
        {"tool_call_id": "t1", "status": "ok", "duration_ms": 5, "error": f"bad {EMAIL}"},
        redactor,
    )

    assert out == {
        "tool_call_id": "t1",
        "status": "ok",
        "duration_ms": 5,
        "error": "bad [EMAIL_ADDRESS]",
    }
    assert redactor.calls == [(f"bad {EMAIL}", None)]


def test_caller_memory_keeps_the_last_caller_turn_until_the_call_ends() -> None:
    memory = CallerMemory(capacity=100)
    first = TranscriptUser(item_id="i1", text="my number is four one five")
    second = TranscriptUser(item_id="i2", text="five five five")

    memory.observe(_envelope(first), first)
    assert memory.previous("sess_1") == "my number is four one five"
    memory.observe(
        _envelope(TranscriptAgent(reply_id="r", text="go on")),
        TranscriptAgent(reply_id="r", text="go on"),
    )
    assert memory.previous("sess_1") == "my number is four one five"
    memory.observe(_envelope(second), second)
    assert memory.previous("sess_1") == "five five five"
    ended = CallEnded(reason="client_ended", duration_s=3)
    memory.observe(_envelope(ended), ended)
    assert memory.previous("sess_1") is None


def test_caller_memory_forgets_the_least_recently_active_call_at_its_bound() -> None:
    memory = CallerMemory(capacity=2)
    for call_id in ("a", "b", "a", "c"):
        turn = TranscriptUser(item_id="i", text=f"from {call_id}")
        memory.observe(_envelope(turn, call_id), turn)

    assert len(memory) == 2
    assert memory.previous("b") is None
    assert memory.previous("a") == "from a"
    assert memory.previous("c") == "from c"
