"""Fuzzing the sans-I/O protocol layer: the Voice Agent API parser and session core, and the
Twilio media-stream parser. Every input either parses or raises the documented protocol error;
no other exception escapes, and the session answers only with documented frames.
"""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.domain.actions import Close, Send
from services.gateway.domain.protocol import ErrorCode, ProtocolError, parse_client_frame
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.domain.twilio import TwilioFrameError, parse_frame
from shared.lines import SupportLine
from tests.support.fuzzing import client_frames, examples, twilio_frames

MAX_BYTES = 2_048
T0 = 1_000.0
LINE = SupportLine(line_id="demo", name="Demo", greeting="Hello", config_hash="sha256:abc")
ERROR_CODES = set(get_args(ErrorCode))
# Close codes the protocol documents for a session that ends itself.
CLOSE_CODES = {1000, 1008}
SERVER_TYPES = {
    "session.ready",
    "session.updated",
    "session.error",
    "session.ended",
    "transcript.user",
    "transcript.agent",
    "reply.started",
    "reply.done",
    "tool.call",
}


@settings(max_examples=examples(1500))
@given(client_frames(MAX_BYTES))
def test_a_client_frame_parses_or_is_an_invalid_format_error(raw: str | bytes) -> None:
    try:
        event = parse_client_frame(raw, max_bytes=MAX_BYTES)
    except ProtocolError as exc:
        assert exc.code == "invalid_format"
        assert exc.message
        return
    assert isinstance(raw, str)
    assert len(raw.encode()) <= MAX_BYTES
    assert event.body == json.loads(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"type": "input.text", "text": "hi"}', "binary frames"),
        ('{"type": "input.text", "text": "' + "é" * MAX_BYTES + '"}', "larger than"),
        ("[1, 2]", "JSON object"),
        ('{"type": 7}', "no string 'type'"),
        ('{"type": "input.texts"}', "unknown event type"),
        ('{"type": "input.text", "text": NaN', "not valid JSON"),
    ],
)
def test_each_kind_of_bad_frame_names_its_problem(raw: str | bytes, expected: str) -> None:
    with pytest.raises(ProtocolError, match=expected):
        parse_client_frame(raw, max_bytes=MAX_BYTES)


def _session() -> VoiceSession:
    return VoiceSession(
        session_id=new_session_id(),
        line=LINE,
        started_at=T0,
        max_session_s=3600,
        max_frame_bytes=MAX_BYTES,
    )


def _check_frame(frame: dict[str, Any]) -> None:
    assert frame["type"] in SERVER_TYPES, frame
    if frame["type"] == "session.error":
        assert frame["code"] in ERROR_CODES
        assert frame["code"] != "internal_error", frame


@settings(max_examples=examples(400))
@given(st.lists(client_frames(MAX_BYTES), min_size=1, max_size=12))
def test_a_session_survives_any_frame_sequence(frames: list[str | bytes]) -> None:
    """Out-of-order, mutated and junk frames: documented answers only, and no exception."""
    session = _session()
    for step, raw in enumerate(frames):
        for action in session.on_frame(raw, T0 + step * 0.1):
            if isinstance(action, Send):
                _check_frame(action.frame)
            elif isinstance(action, Close):
                assert action.code in CLOSE_CODES
    if session.state != "ended":  # a fresh valid exchange still works on the same session
        sent = session.on_frame('{"type": "session.end"}', T0 + 10)
        assert any(isinstance(a, Send) and a.frame["type"] == "session.ended" for a in sent)
        assert session.state == "ended"


def test_audio_before_session_update_is_dropped_then_the_session_still_configures() -> None:
    session = _session()
    assert session.on_frame('{"type": "input.audio", "audio": "AAAA"}', T0) == []
    sent = session.on_frame('{"type": "session.update", "session": {}}', T0 + 0.1)
    assert [a.frame["type"] for a in sent if isinstance(a, Send)][:1] == ["session.ready"]


@settings(max_examples=examples(1500))
@given(twilio_frames(MAX_BYTES))
def test_a_twilio_frame_parses_or_is_a_twilio_frame_error(raw: str | bytes) -> None:
    try:
        parse_frame(raw, max_bytes=MAX_BYTES)
    except TwilioFrameError as exc:
        assert str(exc)


def test_a_non_ascii_media_payload_is_a_twilio_frame_error() -> None:
    """Regression (found by the fuzzer): ``b64decode`` raised a bare ValueError, which the media
    socket did not catch, so one such frame ended the phone call with an internal error."""
    raw = json.dumps({"event": "media", "media": {"payload": "\x80AAA"}})
    with pytest.raises(TwilioFrameError, match="not base64"):
        parse_frame(raw, max_bytes=MAX_BYTES)
