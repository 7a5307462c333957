"""The event envelope, the catalog's payload models and the registry that decodes them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import Field, ValidationError

from shared.events import (
    DEFAULT_REGISTRY,
    CallStarted,
    Envelope,
    EventPayload,
    EventRegistry,
    TranscriptUser,
    UnknownEventError,
    decode_envelope,
    new_event,
)
from shared.events.envelope import MAX_EVENT_BYTES


def _envelope(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "type": "transcript.user",
        "version": 1,
        "call_id": "sess_1",
        "source": "gateway-1",
        "payload": {"item_id": "item_1", "text": "hello"},
    }
    return Envelope(**{**fields, **overrides})


# -- envelope ----------------------------------------------------------------------------------


def test_envelope_survives_a_json_round_trip() -> None:
    original = _envelope(
        line_id="demo-retail", occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )

    decoded = Envelope.from_json(original.to_json())

    assert decoded == original
    assert decoded.event_id == original.event_id
    assert decoded.occurred_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_envelope_wire_form_is_compact_utf8_json() -> None:
    raw = _envelope().to_json()

    assert isinstance(raw, bytes)
    assert set(json.loads(raw)) == {
        "event_id",
        "type",
        "version",
        "occurred_at",
        "call_id",
        "line_id",
        "source",
        "payload",
    }


def test_new_event_takes_type_and_version_from_the_payload_class() -> None:
    payload = TranscriptUser(item_id="item_1", text="hi")

    envelope = new_event(payload, call_id="sess_1", source="gateway-1", line_id="demo-retail")

    assert envelope.type == "transcript.user"
    assert envelope.version == TranscriptUser.event_version == 1
    assert envelope.payload == {
        "item_id": "item_1",
        "text": "hi",
        "started_ms": None,
        "ended_ms": None,
    }
    assert envelope.call_id == "sess_1"
    assert envelope.line_id == "demo-retail"
    assert envelope.occurred_at.tzinfo is not None


def test_new_event_keeps_a_given_event_id_and_time() -> None:
    event_id = uuid.uuid4()
    when = datetime(2026, 5, 1, tzinfo=UTC)

    envelope = new_event(
        CallStarted(channel="text", line_id="x"),
        call_id="c",
        source="s",
        event_id=event_id,
        occurred_at=when,
    )

    assert envelope.event_id == event_id
    assert envelope.occurred_at == when


def test_naive_occurred_at_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        _envelope(occurred_at=datetime(2026, 1, 1, 12, 0))


def test_naive_occurred_at_is_rejected_on_the_wire() -> None:
    raw = json.loads(_envelope().to_json())
    raw["occurred_at"] = "2026-01-01T12:00:00"

    with pytest.raises(ValueError):
        Envelope.from_json(json.dumps(raw))


def test_occurred_at_in_another_zone_is_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))

    envelope = _envelope(occurred_at=datetime(2026, 1, 1, 14, 0, tzinfo=plus_two))

    assert envelope.occurred_at.utcoffset() == timedelta(0)
    assert envelope.occurred_at.hour == 12


def test_oversize_raw_bytes_are_rejected_before_parsing() -> None:
    raw = b" " * (MAX_EVENT_BYTES + 1)

    with pytest.raises(ValueError, match="exceeds"):
        Envelope.from_json(raw)


def test_raw_str_is_bounded_by_its_utf8_size_not_its_length() -> None:
    # 400k three-byte characters: 1.2 MB on the wire, under the bound only if chars are counted.
    text = "€" * 400_000
    raw = json.dumps(
        {
            "type": "transcript.user",
            "version": 1,
            "call_id": "c",
            "source": "s",
            "payload": {"item_id": "i", "text": text},
        },
        ensure_ascii=False,
    )
    assert len(raw) < MAX_EVENT_BYTES < len(raw.encode())

    with pytest.raises(ValueError, match="exceeds"):
        Envelope.from_json(raw)


def test_unknown_envelope_fields_are_ignored() -> None:
    raw = json.loads(_envelope().to_json())
    raw["added_in_v2"] = {"anything": 1}

    envelope = Envelope.from_json(json.dumps(raw))

    assert not hasattr(envelope, "added_in_v2")
    assert envelope.type == "transcript.user"


def test_unknown_payload_fields_are_ignored_by_the_model() -> None:
    envelope = _envelope(payload={"item_id": "i", "text": "t", "confidence": 0.9})

    payload = DEFAULT_REGISTRY.decode(envelope)

    assert payload == TranscriptUser(item_id="i", text="t")


def test_malformed_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        Envelope.from_json(b"{not json")


# -- registry ----------------------------------------------------------------------------------


def test_decode_envelope_returns_the_typed_payload() -> None:
    raw = new_event(TranscriptUser(item_id="i", text="t"), call_id="c", source="s").to_json()

    envelope, payload = decode_envelope(raw)

    assert envelope.type == "transcript.user"
    assert isinstance(payload, TranscriptUser)
    assert payload.text == "t"


def test_decode_unknown_type_raises_unknown_event() -> None:
    with pytest.raises(UnknownEventError, match="unknown event type"):
        DEFAULT_REGISTRY.decode(_envelope(type="call.teleported"))


def test_decode_version_newer_than_latest_raises_unknown_event() -> None:
    with pytest.raises(UnknownEventError, match="newer"):
        DEFAULT_REGISTRY.decode(_envelope(version=2))


def test_decode_payload_that_does_not_fit_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        DEFAULT_REGISTRY.decode(_envelope(payload={"item_id": "i"}))


class _GreetingV1(EventPayload):
    event_type = "test.greeting"
    event_version = 1
    text: str


class _GreetingV2(EventPayload):
    event_type = "test.greeting"
    event_version = 2
    text: str
    language: str = Field(min_length=2)


class _GreetingV3(EventPayload):
    event_type = "test.greeting"
    event_version = 3
    words: list[str]
    language: str


def _greeting_envelope(version: int, payload: dict[str, Any]) -> Envelope:
    return _envelope(type="test.greeting", version=version, payload=payload)


def test_upcaster_turns_a_v1_envelope_into_the_v2_model() -> None:
    registry = EventRegistry([_GreetingV1, _GreetingV2])
    registry.register_upcaster("test.greeting", 1, lambda p: {**p, "language": "en"})

    payload = registry.decode(_greeting_envelope(1, {"text": "hi"}))

    assert payload == _GreetingV2(text="hi", language="en")


def test_upcasters_chain_across_versions() -> None:
    registry = EventRegistry([_GreetingV1, _GreetingV2, _GreetingV3])
    registry.register_upcaster("test.greeting", 1, lambda p: {**p, "language": "en"})
    registry.register_upcaster(
        "test.greeting", 2, lambda p: {"words": p["text"].split(), "language": p["language"]}
    )

    payload = registry.decode(_greeting_envelope(1, {"text": "good morning"}))

    assert payload == _GreetingV3(words=["good", "morning"], language="en")


def test_latest_version_is_decoded_without_upcasting() -> None:
    registry = EventRegistry([_GreetingV1, _GreetingV2])

    payload = registry.decode(_greeting_envelope(2, {"text": "hi", "language": "fr"}))

    assert payload == _GreetingV2(text="hi", language="fr")


def test_upcasting_does_not_mutate_the_envelope_payload() -> None:
    registry = EventRegistry([_GreetingV1, _GreetingV2])

    def add_language(p: dict[str, Any]) -> dict[str, Any]:
        p["language"] = "en"
        return p

    registry.register_upcaster("test.greeting", 1, add_language)
    envelope = _greeting_envelope(1, {"text": "hi"})

    registry.decode(envelope)

    assert envelope.payload == {"text": "hi"}


def test_missing_upcaster_raises_unknown_event() -> None:
    registry = EventRegistry([_GreetingV1, _GreetingV2])

    with pytest.raises(UnknownEventError, match="no upcaster"):
        registry.decode(_greeting_envelope(1, {"text": "hi"}))


def test_duplicate_registration_raises() -> None:
    registry = EventRegistry([_GreetingV1])

    with pytest.raises(ValueError, match="already registered"):
        registry.register(_GreetingV1)


def test_registry_reports_latest_version_and_known_types() -> None:
    registry = EventRegistry([_GreetingV2, _GreetingV1])

    assert registry.latest_version("test.greeting") == 2
    assert registry.latest_version("nope") is None
    assert registry.knows("test.greeting")
    assert not registry.knows("nope")
    assert registry.models() == [_GreetingV1, _GreetingV2]


def test_default_registry_knows_the_whole_v1_catalog() -> None:
    types = {m.event_type for m in DEFAULT_REGISTRY.models()}

    assert {"call.started", "call.ended", "transcript.user", "transcript.agent"} <= types


def test_a_handoff_v1_record_decodes_as_v2_without_a_target_agent() -> None:
    from shared.events import Handoff

    old = Envelope(
        type="handoff",
        version=1,
        call_id="c1",
        source="session-old",
        payload={"issued_by": "rule:asked", "queue": "retail-support", "say": "Please hold."},
    )
    decoded = DEFAULT_REGISTRY.decode(old)
    assert isinstance(decoded, Handoff)
    assert (decoded.queue, decoded.say, decoded.agent_id) == (
        "retail-support",
        "Please hold.",
        None,
    )


@pytest.mark.parametrize("agent_id", ["", "a b", "x" * 101, "sup/1"])
def test_a_handoff_target_agent_must_be_a_plain_id(agent_id: str) -> None:
    from shared.events import Handoff

    with pytest.raises(ValidationError):
        Handoff(issued_by="supervisor:abc", queue="q", agent_id=agent_id)
