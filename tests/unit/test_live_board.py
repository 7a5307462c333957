"""The live board: call rows, timeline items, risk, alerts, bounds and expiry (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.analytics.domain.call_log import CallerMemory
from services.analytics.domain.live_board import LiveBoard, risk_of
from services.analytics.domain.live_kpis import KpiInputs, kpis, window_start
from services.analytics.domain.stats import bucket_of
from services.analytics.handlers import redact_live_batch
from shared.events import (
    CallEnded,
    CallStarted,
    CallStateChanged,
    ControlApplied,
    DialogueFallback,
    Envelope,
    EscalationRequested,
    EventPayload,
    HandoffCompleted,
    HandoffFailed,
    Interruption,
    SentimentScored,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
    new_event,
)
from shared.events.catalog import Evidence
from tests.support.fakes import FakeRedactor

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
EMAIL = "jane@example.com"
PHONE = "+1 415 555 0132"


def _redacted(events: list[tuple[Envelope, EventPayload]]) -> list[tuple[Envelope, Any]]:
    redactor = FakeRedactor({EMAIL: "EMAIL_ADDRESS", PHONE: "PHONE_NUMBER"})
    return redact_live_batch(events, redactor=redactor, memory=CallerMemory(100))


def _feed(
    board: LiveBoard, call_id: str, *payloads: EventPayload, now: float = 0.0
) -> list[dict[str, Any]]:
    events = [
        (
            new_event(
                p,
                call_id=call_id,
                source="gateway-1",
                line_id="demo-retail",
                occurred_at=T0 + timedelta(seconds=n),
            ),
            p,
        )
        for n, p in enumerate(payloads)
    ]
    alerts = []
    for envelope, payload in _redacted(events):
        alerts += board.apply(envelope, payload, now=now)
    return alerts


def _started() -> CallStarted:
    return CallStarted(channel="text", line_id="demo-retail", caller=PHONE)


def test_a_started_call_is_a_row_with_the_contract_fields() -> None:
    board = LiveBoard()
    _feed(board, "sess_1", _started(), CallStateChanged(state="agent_speaking"))
    row = board.row("sess_1")
    assert row is not None
    assert set(row) == {
        "call_id", "line_id", "channel", "started_at", "ended", "state", "turns", "sentiment",
        "risk", "escalated", "last_v2v_ms", "agent_id",
    }  # fmt: skip
    assert row["line_id"] == "demo-retail" and row["channel"] == "text"
    assert row["started_at"] == T0.isoformat()
    assert row["state"] == "agent_speaking" and row["ended"] is False
    assert board.active_calls == 1


def test_transcript_items_are_redacted_with_the_call_logs_redaction() -> None:
    board = LiveBoard()
    _feed(
        board,
        "sess_1",
        _started(),
        TranscriptUser(item_id="i1", text=f"mail me at {EMAIL}"),
        TranscriptAgent(reply_id="r1", text=f"I will call {PHONE}"),
    )
    items = board.items("sess_1")
    user, agent = items
    assert user["id"] == "user:i1" and user["kind"] == "user"
    assert EMAIL not in user["text"] and "EMAIL_ADDRESS" in user["text"]
    assert agent["id"] == "agent:r1" and PHONE not in agent["text"]
    assert agent["interrupted"] is False
    assert board.row("sess_1")["turns"] == 1  # type: ignore[index]


def test_a_later_item_with_the_same_id_replaces_the_earlier_in_place() -> None:
    board = LiveBoard()
    _feed(
        board,
        "sess_1",
        _started(),
        ToolCall(tool_call_id="t1", name="lookup_order", executor="server"),
        TranscriptAgent(reply_id="r1", text="one moment"),
        ToolResult(tool_call_id="t1", status="error", duration_ms=120),
        Interruption(reply_id="r1", played_ms=300),
    )
    items = board.items("sess_1")
    assert [i["id"] for i in items][:2] == ["tool:t1", "agent:r1"]
    tool = items[0]
    assert (tool["name"], tool["status"], tool["duration_ms"]) == ("lookup_order", "error", 120)
    assert items[1]["interrupted"] is True
    assert items[2]["kind"] == "interruption" and items[2]["played_ms"] == 300


def test_turn_metrics_set_the_last_latency_and_a_turn_item() -> None:
    board = LiveBoard()
    _feed(board, "s", _started(), TurnMetrics(turn=1, stages_ms={"voice_to_voice": 812.0}))
    assert board.row("s")["last_v2v_ms"] == 812.0  # type: ignore[index]
    assert board.items("s")[0] == {
        "id": "turn:1",
        "kind": "turn",
        "at": (T0 + timedelta(seconds=1)).isoformat(),
        "turn": 1,
        "v2v_ms": 812.0,
        "stages_ms": {"voice_to_voice": 812.0},
    }


def test_risk_rises_with_negative_sentiment_barge_ins_tool_errors_and_repeats() -> None:
    board = LiveBoard()
    _feed(board, "s", _started(), TranscriptUser(item_id="i1", text="hello"))
    assert board.row("s")["risk"] == {"score": 0.0, "reasons": []}  # type: ignore[index]
    alerts = _feed(
        board,
        "s",
        SentimentScored(item_id="i1", score=-0.8, trend=-0.5),
        Interruption(reply_id="r1", played_ms=100),
        ToolResult(tool_call_id="t1", status="timeout", duration_ms=5000),
        DialogueFallback(provider="llm", reason="timeout"),
        TranscriptUser(item_id="i2", text="Where is my order?"),
        TranscriptUser(item_id="i3", text="where is my order"),
    )
    risk = board.row("s")["risk"]  # type: ignore[index]
    assert risk["score"] >= 0.7
    assert set(risk["reasons"]) == {
        "negative sentiment", "sentiment falling", "caller barged in", "tool errors or timeouts",
        "dialogue fallbacks", "caller repeated themselves",
    }  # fmt: skip
    assert [a["kind"] for a in alerts] == ["risk"]  # raised once, when it crossed 0.7
    assert board.row("s")["sentiment"] == [-0.8]  # type: ignore[index]
    more = _feed(board, "s", Interruption(reply_id="r2", played_ms=100))
    assert more == []


def test_risk_of_a_calm_call_is_zero_and_an_escalation_sets_it_to_one() -> None:
    from services.analytics.domain.live_board import _Signals

    assert risk_of([0.5, 0.6], _Signals())["score"] == 0.0
    assert risk_of([0.5], _Signals(escalated=True)) == {
        "score": 1.0,
        "reasons": ["escalation requested"],
    }


def test_an_escalation_raises_one_alert_an_item_with_evidence_and_marks_the_row() -> None:
    board = LiveBoard()
    escalation = EscalationRequested(
        rule_id="asked_for_person",
        reasons=["caller asked for a person"],
        priority=80,
        evidence=[Evidence(signal="asked_for_person", detail="said agent", value=1, threshold=1)],
    )
    alerts = _feed(board, "s", _started(), escalation)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert["kind"], alert["rule_id"], alert["priority"]) == (
        "escalation",
        "asked_for_person",
        80,
    )
    assert alert["call_id"] == "s" and alert["line_id"] == "demo-retail"
    assert board.alerts() == alerts
    row = board.row("s")
    assert row is not None and row["escalated"] and row["risk"]["score"] == 1.0
    item = board.items("s")[0]
    assert item["kind"] == "escalation" and item["evidence"] == [
        {"signal": "asked_for_person", "detail": "said agent", "value": 1.0, "threshold": 1.0}
    ]


def test_handoffs_set_the_agent_and_a_failed_one_raises_an_alert() -> None:
    board = LiveBoard()
    alerts = _feed(board, "a", _started(), HandoffFailed(reason="no agent free"))
    assert [(a["kind"], a["reasons"]) for a in alerts] == [("handoff_failed", ["no agent free"])]
    _feed(board, "b", _started(), HandoffCompleted(agent_id="desk-7", target="queue"))
    row = board.row("b")
    assert row is not None and row["agent_id"] == "desk-7" and row["state"] == "with_human"
    assert board.items("b")[0]["outcome"] == "completed"


def test_control_applied_is_an_audit_item() -> None:
    board = LiveBoard()
    applied = ControlApplied(
        command="whisper", command_id="cmd-1", issued_by="supervisor:abc", ok=False, detail="gone"
    )
    _feed(board, "s", _started(), applied)
    item = board.items("s")[0]
    assert item["id"] == "control:cmd-1"
    assert (item["command"], item["issued_by"], item["ok"], item["detail"]) == (
        "whisper", "supervisor:abc", False, "gone"
    )  # fmt: skip


def test_drain_returns_changed_rows_and_items_once() -> None:
    board = LiveBoard()
    _feed(board, "s", _started(), TranscriptUser(item_id="i1", text="hi"))
    changes = board.drain()
    assert [r["call_id"] for r in changes.upserts] == ["s"]
    assert [i["id"] for i in changes.items["s"]] == ["user:i1"]
    assert not board.drain()
    _feed(board, "s", TranscriptAgent(reply_id="r1", text="hello"))
    changes = board.drain()
    assert changes.upserts == [] and [i["id"] for i in changes.items["s"]] == ["agent:r1"]


def test_ended_calls_stay_sixty_seconds_then_are_removed() -> None:
    board = LiveBoard()
    _feed(board, "s", _started())
    _feed(board, "s", CallEnded(reason="hangup", duration_s=3), now=100.0)
    row = board.row("s")
    assert row is not None and row["ended"] and row["state"] == "ended"
    assert board.active_calls == 0
    board.drain()
    board.expire(159.0)
    assert board.row("s") is not None
    board.expire(160.0)
    assert board.row("s") is None and board.drain().removed == ["s"]


def test_a_full_board_evicts_the_oldest_ended_call_then_refuses_new_ones() -> None:
    board = LiveBoard(max_calls=3)
    for n in range(3):
        _feed(board, f"c{n}", _started())
    _feed(board, "c1", CallEnded(reason="hangup", duration_s=1), now=1.0)
    _feed(board, "c2", CallEnded(reason="hangup", duration_s=1), now=2.0)
    _feed(board, "c3", _started())
    assert board.row("c1") is None and board.row("c2") is not None and len(board) == 3
    _feed(board, "c4", _started())
    assert board.row("c2") is None
    _feed(board, "c5", _started(), TranscriptUser(item_id="i", text="hi"))
    assert board.row("c5") is None and board.refused == 2 and len(board) == 3


def test_timeline_and_sentiment_and_alerts_are_bounded() -> None:
    board = LiveBoard(max_items=5, max_alerts=2)
    _feed(
        board, "s", _started(), *[TranscriptUser(item_id=f"i{n}", text=f"t{n}") for n in range(8)]
    )
    assert [i["id"] for i in board.items("s")] == [f"user:i{n}" for n in range(3, 8)]
    _feed(board, "s", *[SentimentScored(item_id="i", score=n / 100) for n in range(40)])
    assert len(board.row("s")["sentiment"]) == 30  # type: ignore[index]
    assert board.row("s")["sentiment"][-1] == 0.39  # type: ignore[index]
    for n in range(3):
        _feed(board, f"e{n}", _started(), HandoffFailed(reason="busy"))
    assert [a["call_id"] for a in board.alerts()] == ["e1", "e2"]


def test_an_event_of_an_unseen_call_starts_its_row_and_an_unseen_end_is_ignored() -> None:
    board = LiveBoard()
    _feed(board, "late", TranscriptUser(item_id="i1", text="hi"))
    assert board.row("late") is not None
    _feed(board, "gone", CallEnded(reason="hangup", duration_s=1))
    assert board.row("gone") is None


def test_kpis_follow_the_contract_with_sixty_minute_points() -> None:
    now = datetime(2026, 3, 4, 5, 30, 15, tzinfo=UTC)
    inputs = KpiInputs()
    inputs.total.calls, inputs.total.ended = 10, 8
    inputs.total.contained, inputs.total.escalated = 6, 2
    inputs.total.tool_calls, inputs.total.tool_errors = 4, 1
    inputs.total.v2v_hist = {bucket_of(900): 19, bucket_of(3000): 1}
    last = now.replace(second=0)
    inputs.calls_by_minute = {last: 3}
    inputs.v2v_by_minute = {last: {bucket_of(900): 2}}
    out = kpis(inputs, now=now, active_calls=4)
    assert out["window_s"] == 3600 and out["active_calls"] == 4 and out["calls"] == 10
    assert out["containment"] == 0.75 and out["escalation_rate"] == 0.25
    assert out["tool_error_rate"] == 0.25
    assert 900 <= out["v2v_p95_ms"] < 1000
    assert len(out["series"]) == 60
    assert out["series"][0]["minute"] == window_start(now).isoformat()
    assert out["series"][-1]["calls"] == 3 and out["series"][-1]["v2v_p95_ms"] is not None
    assert out["series"][0] == {
        "minute": window_start(now).isoformat(),
        "calls": 0,
        "v2v_p95_ms": None,
    }
