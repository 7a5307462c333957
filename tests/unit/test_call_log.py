"""How a call event becomes (redacted) call-log rows."""

from __future__ import annotations

from datetime import UTC, datetime

from services.analytics.domain.call_log import CallLogChange, change_for
from shared.events import (
    CallEnded,
    CallStarted,
    Envelope,
    EventPayload,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
    new_event,
)

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
PHONE = "+1 415 555 0132"
CARD = "4111 1111 1111 1111"


def _change(payload: EventPayload) -> tuple[Envelope, CallLogChange]:
    envelope = new_event(
        payload, call_id="sess_1", source="gateway-1", line_id="demo-retail", occurred_at=WHEN
    )
    return envelope, change_for(envelope, payload)


def test_transcript_user_becomes_a_redacted_user_turn() -> None:
    payload = TranscriptUser(
        item_id="item_1", text=f"my card is {CARD} for ORD-77315", started_ms=10, ended_ms=900
    )

    envelope, change = _change(payload)

    turn = change.turn
    assert turn is not None
    assert turn.role == "user"
    assert turn.text == "my card is [CARD] for ORD-77315"
    assert turn.item_id == "item_1"
    assert turn.event_id == envelope.event_id
    assert turn.call_id == "sess_1"
    assert turn.occurred_at == WHEN
    assert (turn.started_ms, turn.ended_ms) == (10, 900)
    assert turn.interrupted is False
    assert change.call_fields == {}


def test_transcript_user_payload_is_stored_redacted() -> None:
    _, change = _change(TranscriptUser(item_id="item_1", text=f"card {CARD}"))

    assert change.payload["text"] == "card [CARD]"
    assert CARD not in str(change.payload)


def test_transcript_agent_becomes_an_agent_turn_keyed_by_reply() -> None:
    payload = TranscriptAgent(reply_id="reply_1", text=f"I have {PHONE} on file", interrupted=True)

    _, change = _change(payload)

    turn = change.turn
    assert turn is not None
    assert turn.role == "agent"
    assert turn.item_id == "reply_1"
    assert turn.text == "I have [PHONE] on file"
    assert turn.interrupted is True


def test_call_started_redacts_the_caller_in_call_fields_and_payload() -> None:
    payload = CallStarted(
        channel="twilio", caller=PHONE, line_id="demo-retail", line_config_hash="sha256:abc"
    )

    _, change = _change(payload)

    assert change.call_fields == {
        "channel": "twilio",
        "caller": "[PHONE]",
        "line_config_hash": "sha256:abc",
        "started_at": WHEN,
    }
    assert change.payload["caller"] == "[PHONE]"
    assert "555" not in str(change.payload)
    assert change.turn is None


def test_call_started_without_caller_keeps_none() -> None:
    _, change = _change(CallStarted(channel="voice_agent", line_id="demo-retail"))

    assert change.call_fields["caller"] is None


def test_call_started_attributes_are_redacted_too() -> None:
    payload = CallStarted(
        channel="text", line_id="x", attributes={"email": "jane@example.com", "tier": "gold"}
    )

    _, change = _change(payload)

    assert change.payload["attributes"] == {"email": "[EMAIL]", "tier": "gold"}


def test_call_ended_sets_end_columns() -> None:
    _, change = _change(CallEnded(reason="client_ended", duration_s=12.5))

    assert change.call_fields == {
        "ended_at": WHEN,
        "end_reason": "client_ended",
        "duration_s": 12.5,
    }
    assert change.turn is None


def test_change_carries_the_envelope_metadata() -> None:
    envelope, change = _change(TurnMetrics(turn=1, stages_ms={"stt": 120.0}))

    assert change.event_id == envelope.event_id
    assert change.call_id == "sess_1"
    assert change.line_id == "demo-retail"
    assert change.event_type == "turn.metrics"
    assert change.version == 1
    assert change.occurred_at == WHEN
    assert change.source == "gateway-1"
    assert change.payload == {"turn": 1, "stages_ms": {"stt": 120.0}}
    assert change.call_fields == {}
    assert change.turn is None
