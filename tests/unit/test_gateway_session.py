"""The sans-I/O voice session: frames in, actions (Send / Publish / Close) out."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from services.gateway.domain.actions import Action, CancelReply, Close, Publish, Respond, Send
from services.gateway.domain.config import DEFAULT_CONFIG
from services.gateway.domain.protocol import MAX_TEXT_CHARS
from services.gateway.domain.session import VoiceSession, new_session_id
from shared.events import (
    CallEnded,
    CallStarted,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
)
from shared.lines import SupportLine

T0 = 1_000.0
LINE = SupportLine(
    line_id="demo-retail",
    name="Demo",
    greeting="Hello there",
    policies={"hours": "9 to 5"},
    config_hash="sha256:abc",
)
SILENT_LINE = SupportLine(line_id="quiet", name="Quiet", config_hash="sha256:def")


def _session(line: SupportLine = LINE, max_frame_bytes: int = 65_536) -> VoiceSession:
    return VoiceSession(
        session_id=new_session_id(),
        line=line,
        started_at=T0,
        max_session_s=3600,
        max_frame_bytes=max_frame_bytes,
    )


def _frame(event_type: str, **body: Any) -> str:
    return json.dumps({"type": event_type, **body})


def _sent(actions: list[Action]) -> list[dict[str, Any]]:
    return [a.frame for a in actions if isinstance(a, Send)]


def _published(actions: list[Action]) -> list[Any]:
    return [a.payload for a in actions if isinstance(a, Publish)]


def _types(actions: list[Action]) -> list[str]:
    return [f["type"] for f in _sent(actions)]


def _ready(session: VoiceSession, **config: Any) -> list[Action]:
    actions = session.on_frame(_frame("session.update", session=config), T0 + 0.1)
    assert session.state == "ready"
    return actions


def _single_error(actions: list[Action]) -> dict[str, Any]:
    assert len(actions) == 1, actions
    (action,) = actions
    assert isinstance(action, Send)
    assert action.frame["type"] == "session.error"
    return action.frame


def _audio(n_bytes: int) -> str:
    return _frame("input.audio", audio=base64.b64encode(b"\x00" * n_bytes).decode())


# -- readiness ---------------------------------------------------------------------------------


def test_new_session_id_is_sess_and_32_hex() -> None:
    assert re.fullmatch(r"sess_[0-9a-f]{32}", new_session_id())


def test_first_update_sends_session_ready() -> None:
    session = _session()

    actions = _ready(session, system_prompt="be brief")

    ready = _sent(actions)[0]
    assert ready["type"] == "session.ready"
    assert re.fullmatch(r"sess_[0-9a-f]{32}", ready["session_id"])
    assert ready["session_id"] == session.session_id
    assert ready["config"]["system_prompt"] == "be brief"
    assert ready["expires_at"] == int(T0 + 3600)
    assert isinstance(ready["resume_token"], str) and len(ready["resume_token"]) >= 16


def test_first_update_publishes_call_started_with_the_line_config_hash() -> None:
    actions = _ready(_session())

    started = _published(actions)[0]
    assert isinstance(started, CallStarted)
    assert started.line_id == "demo-retail"
    assert started.line_config_hash == "sha256:abc"
    assert started.channel == "voice_agent"


def test_ready_is_followed_by_the_line_greeting_reply() -> None:
    actions = _ready(_session())

    assert _types(actions) == ["session.ready", "reply.started", "transcript.agent", "reply.done"]
    _, started, agent, done = _sent(actions)
    assert agent["text"] == "Hello there"
    assert agent["interrupted"] is False
    assert done["status"] == "completed"
    assert started["reply_id"] == agent["reply_id"] == done["reply_id"]
    assert started["item_id"] == agent["item_id"]
    published = _published(actions)
    assert published[1] == TranscriptAgent(
        reply_id=agent["reply_id"], text="Hello there", interrupted=False
    )


def test_client_greeting_overrides_the_line_greeting() -> None:
    actions = _ready(_session(), greeting="Welcome!")

    agent = next(f for f in _sent(actions) if f["type"] == "transcript.agent")
    assert agent["text"] == "Welcome!"


def test_no_greeting_means_ready_without_a_reply() -> None:
    actions = _ready(_session(SILENT_LINE))

    assert _types(actions) == ["session.ready"]
    assert len(_published(actions)) == 1


def test_ready_timeout_readies_with_the_default_config() -> None:
    session = _session(SILENT_LINE)

    actions = session.on_ready_timeout(T0 + 2)

    assert session.state == "ready"
    (ready,) = _sent(actions)
    assert ready["type"] == "session.ready"
    assert ready["config"] == DEFAULT_CONFIG
    assert isinstance(_published(actions)[0], CallStarted)


def test_ready_timeout_after_ready_does_nothing() -> None:
    session = _session()
    _ready(session)

    assert session.on_ready_timeout(T0 + 5) == []


def test_ready_is_sent_once() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("session.update", session={}), T0 + 1)

    assert _types(actions) == ["session.updated"]
    assert _published(actions) == []


# -- audio -------------------------------------------------------------------------------------


def test_audio_before_ready_is_dropped_silently() -> None:
    session = _session()

    assert session.on_frame(_audio(2400), T0) == []
    assert session.state == "connecting"


def test_audio_after_ready_is_accounted_in_session_ended() -> None:
    session = _session()
    _ready(session)
    for _ in range(20):  # 20 x 2400 bytes of 24 kHz PCM16 = 1 s
        assert session.on_frame(_audio(2400), T0 + 1) == []

    actions = session.on_frame(_frame("session.end"), T0 + 3)

    ended = _sent(actions)[0]
    assert ended["audio_duration_seconds"] == pytest.approx(1.0)


def test_audio_before_ready_is_not_accounted() -> None:
    session = _session()
    session.on_frame(_audio(48_000), T0)
    _ready(session)

    ended = _sent(session.on_frame(_frame("session.end"), T0 + 3))[0]

    assert ended["audio_duration_seconds"] == 0


def test_audio_duration_follows_the_input_encoding() -> None:
    # mu-law 8 kHz is 8000 bytes per second, not 48000 (protocol doc, input.format.encoding).
    session = _session()
    _ready(session, input={"format": {"encoding": "audio/pcmu"}})
    session.on_frame(_audio(8000), T0 + 1)

    ended = _sent(session.on_frame(_frame("session.end"), T0 + 3))[0]

    assert ended["audio_duration_seconds"] == pytest.approx(1.0)


def test_audio_that_is_not_a_string_is_invalid_audio() -> None:
    session = _session()
    _ready(session)

    error = _single_error(session.on_frame(_frame("input.audio", audio=123), T0 + 1))

    assert error["code"] == "invalid_audio"


# -- text turns --------------------------------------------------------------------------------


def test_input_text_gives_a_user_transcript_and_asks_for_an_agent_turn() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("input.text", text="what are your hours?"), T0 + 1)

    assert _types(actions) == ["transcript.user"]
    assert actions[-1] == Respond()
    (user,) = _sent(actions)
    assert user["text"] == "what are your hours?"
    assert user["item_id"]
    assert _published(actions) == [
        TranscriptUser(item_id=user["item_id"], text="what are your hours?")
    ]
    assert session.context[-1] == {"role": "user", "content": "what are your hours?"}
    assert session.turns == 1


def test_input_text_as_first_message_readies_the_session_first() -> None:
    session = _session()

    actions = session.on_frame(_frame("input.text", text="hello"), T0)

    assert session.state == "ready"
    assert _types(actions)[0] == "session.ready"
    assert _types(actions).count("transcript.user") == 1
    kinds = [type(p) for p in _published(actions)]
    assert kinds == [CallStarted, TranscriptAgent, TranscriptUser]  # greeting, then the turn
    assert actions[-1] == Respond()


def test_blank_input_text_is_invalid_value() -> None:
    session = _session()
    _ready(session)

    error = _single_error(session.on_frame(_frame("input.text", text="   "), T0 + 1))

    assert error["code"] == "invalid_value"
    assert session.turns == 0


def test_too_long_input_text_is_invalid_value() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("input.text", text="a" * (MAX_TEXT_CHARS + 1)), T0 + 1)

    assert _single_error(actions)["code"] == "invalid_value"


def test_reply_create_asks_for_a_turn_with_its_one_shot_instructions() -> None:
    session = _session()
    _ready(session)

    assert session.on_frame(_frame("reply.create"), T0 + 1) == [Respond(None)]
    actions = session.on_frame(_frame("reply.create", instructions="Offer a callback."), T0 + 2)
    assert actions == [Respond("Offer a callback.")]
    assert not any("Offer a callback" in str(m) for m in session.context)  # one-shot


def test_reply_cancel_stops_the_reply_in_progress() -> None:
    session = _session()
    _ready(session)

    assert session.on_frame(_frame("reply.cancel", reply_id="reply_x"), T0 + 1) == [CancelReply()]


# -- client tools ------------------------------------------------------------------------------


def _called(session: VoiceSession, call_id: str = "call_1") -> list[Action]:
    return session.tool_called(
        call_id, "lookup_order", {"order_id": "ORD-77315"}, client=True, now=T0 + 1
    )


def test_a_client_tool_call_goes_to_the_client_with_args_too() -> None:
    session = _session()
    _ready(session)

    actions = _called(session)

    (frame,) = _sent(actions)
    assert frame == {
        "type": "tool.call",
        "call_id": "call_1",
        "name": "lookup_order",
        "arguments": {"order_id": "ORD-77315"},
        "args": {"order_id": "ORD-77315"},
    }
    (event,) = _published(actions)
    assert isinstance(event, ToolCall) and event.executor == "client"
    assert "call_1" in session.pending_tools


def test_tool_result_is_remembered_logged_and_starts_the_follow_up_reply() -> None:
    session = _session()
    _ready(session)
    _called(session)

    actions = session.on_frame(
        _frame("tool.result", call_id="call_1", result={"status": "shipped"}), T0 + 1.25
    )

    assert actions[-1] == Respond()
    (event,) = _published(actions)
    assert event == ToolResult(tool_call_id="call_1", status="ok", duration_ms=250)
    tool_message = session.context[-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    assert json.loads(tool_message["content"]) == {
        "status": "ok",
        "result": json.dumps({"status": "shipped"}),  # a non-string result is JSON-encoded
    }
    assert session.pending_tools == {}


@pytest.mark.parametrize("id_field", ["call_id", "tool_call_id"])
@pytest.mark.parametrize("result_field", ["result", "output", "content"])
def test_tool_result_accepts_the_lenient_aliases(id_field: str, result_field: str) -> None:
    session = _session()
    _ready(session)
    _called(session)

    body = {id_field: "call_1", result_field: "done", "is_error": True}
    actions = session.on_frame(_frame("tool.result", **body), T0 + 2)

    assert actions[-1] == Respond()
    assert json.loads(session.context[-1]["content"]) == {"status": "error", "error": "done"}


def test_the_follow_up_waits_for_every_call_of_the_turn() -> None:
    session = _session()
    _ready(session)
    _called(session, "call_1")
    _called(session, "call_2")

    first = session.on_frame(_frame("tool.result", call_id="call_1", result="a"), T0 + 2)
    second = session.on_frame(_frame("tool.result", call_id="call_2", result="b"), T0 + 2)

    assert Respond() not in first
    assert second[-1] == Respond()


def test_an_unknown_tool_result_is_invalid_value_and_a_late_one_is_ignored() -> None:
    session = _session()
    _ready(session)

    error = _single_error(session.on_frame(_frame("tool.result", call_id="nope"), T0 + 1))
    assert error["code"] == "invalid_value" and error["param"] == "call_id"

    session.remember(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_9", "type": "function", "function": {}}],
        }
    )
    _called(session, "call_9")
    session.drop_pending_tools()  # barge-in
    assert session.on_frame(_frame("tool.result", call_id="call_9", result="x"), T0 + 2) == []


def test_a_client_tool_that_never_answers_times_out_and_the_agent_goes_on() -> None:
    session = _session()
    _ready(session)
    _called(session)

    actions = session.tool_timed_out("call_1", T0 + 121)

    assert actions[-1] == Respond()
    (event,) = _published(actions)
    assert event.status == "timeout"
    assert session.tool_timed_out("call_1", T0 + 122) == []  # settled once


def test_a_tool_result_with_a_bad_is_error_is_invalid_value() -> None:
    session = _session()
    _ready(session)
    _called(session)

    error = _single_error(
        session.on_frame(_frame("tool.result", call_id="call_1", is_error="yes"), T0 + 2)
    )
    assert error["param"] == "is_error"
    assert "call_1" in session.pending_tools  # nothing lost


# -- malformed frames --------------------------------------------------------------------------

MALFORMED = [
    pytest.param("{not json", id="invalid-json"),
    pytest.param("[1, 2]", id="not-an-object"),
    pytest.param('"session.update"', id="a-string"),
    pytest.param(json.dumps({"session": {}}), id="missing-type"),
    pytest.param(json.dumps({"type": 7}), id="non-string-type"),
    pytest.param(json.dumps({"type": "session.teleport"}), id="unknown-type"),
    pytest.param(b'{"type": "session.end"}', id="binary-frame"),
    pytest.param(json.dumps({"type": "input.text", "text": "x" * 70_000}), id="oversize"),
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_frame_gives_one_invalid_format_error(raw: str | bytes) -> None:
    session = _session()
    _ready(session)

    error = _single_error(session.on_frame(raw, T0 + 1))

    assert error["code"] == "invalid_format"
    assert error["message"]


@pytest.mark.parametrize("raw", MALFORMED)
def test_session_is_still_usable_after_a_malformed_frame(raw: str | bytes) -> None:
    session = _session()
    _ready(session)
    session.on_frame(raw, T0 + 1)

    actions = session.on_frame(_frame("input.text", text="hello"), T0 + 2)

    assert session.state == "ready"
    assert "transcript.user" in _types(actions)


def test_malformed_first_frame_leaves_the_session_connecting() -> None:
    session = _session()

    error = _single_error(session.on_frame("nope", T0))

    assert error["code"] == "invalid_format"
    assert session.state == "connecting"
    assert _types(_ready(session))[0] == "session.ready"


def test_frame_size_bound_counts_utf8_bytes_not_characters() -> None:
    # 20 000 four-byte characters are 80 kB on the wire, over a 64 KiB max_frame_bytes.
    session = _session()
    _ready(session)
    raw = json.dumps(
        {"type": "session.update", "session": {"system_prompt": "\U0001f600" * 20_000}},
        ensure_ascii=False,
    )
    assert len(raw) < 65_536 < len(raw.encode())

    error = _single_error(session.on_frame(raw, T0 + 1))

    assert error["code"] == "invalid_format"


# -- ending ------------------------------------------------------------------------------------


def test_session_end_publishes_call_ended_sends_ended_and_closes() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("session.end"), T0 + 12.5)

    assert len(actions) == 3
    published, sent, close = actions
    assert isinstance(published, Publish)
    assert published.payload == CallEnded(reason="client_ended", duration_s=12.5)
    assert isinstance(sent, Send)
    assert sent.frame["type"] == "session.ended"
    assert sent.frame["session_duration_seconds"] == 12.5
    assert sent.frame["audio_duration_seconds"] == 0
    assert close == Close(1000, "session ended")
    assert session.state == "ended"


def test_session_end_before_ready_publishes_no_call_ended() -> None:
    session = _session()

    actions = session.on_frame(_frame("session.end"), T0 + 1)

    assert _published(actions) == []
    assert _types(actions) == ["session.ended"]
    assert isinstance(actions[-1], Close) and actions[-1].code == 1000


@pytest.mark.parametrize(
    "raw",
    [
        _frame("input.text", text="hello"),
        _frame("session.end"),
        _frame("session.update", session={}),
        "{not json",
    ],
)
def test_after_end_frames_produce_nothing(raw: str) -> None:
    session = _session()
    _ready(session)
    session.on_frame(_frame("session.end"), T0 + 1)

    assert session.on_frame(raw, T0 + 2) == []


def test_disconnect_after_ready_publishes_call_ended_once() -> None:
    session = _session()
    _ready(session)

    first = session.on_disconnect(T0 + 4, "client_disconnected")
    second = session.on_disconnect(T0 + 5, "client_disconnected")

    assert first == [Publish(CallEnded(reason="client_disconnected", duration_s=4.0))]
    assert second == []


def test_disconnect_before_ready_publishes_nothing() -> None:
    session = _session()

    assert session.on_disconnect(T0 + 1, "client_disconnected") == []
    assert session.state == "ended"


def test_disconnect_after_session_end_publishes_nothing_more() -> None:
    session = _session()
    _ready(session)
    session.on_frame(_frame("session.end"), T0 + 1)

    assert session.on_disconnect(T0 + 2, "client_disconnected") == []


# -- session.update after ready ----------------------------------------------------------------


def test_mid_session_update_is_acknowledged_with_session_updated() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(
        _frame("session.update", session={"system_prompt": "new prompt"}), T0 + 1
    )

    (updated,) = _sent(actions)
    assert updated["type"] == "session.updated"
    assert updated["config"]["system_prompt"] == "new prompt"
    assert session.config["system_prompt"] == "new prompt"


@pytest.mark.parametrize(
    ("update", "param"),
    [
        ({"greeting": "Hi again"}, "session.greeting"),
        ({"output": {"voice": "alloy"}}, "session.output.voice"),
        ({"input": {"format": {"encoding": "audio/pcmu"}}}, "session.input.format"),
        ({"output": {"format": {"encoding": "audio/pcma"}}}, "session.output.format"),
    ],
)
def test_immutable_field_change_after_ready_is_refused(update: dict[str, Any], param: str) -> None:
    session = _session()
    _ready(session)
    before = json.loads(json.dumps(session.config))

    error = _single_error(session.on_frame(_frame("session.update", session=update), T0 + 1))

    assert error["code"] == "immutable_field"
    assert error["param"] == param
    assert session.config == before


def test_clearing_the_voice_after_ready_is_an_immutable_change() -> None:
    session = _session()
    _ready(session, output={"voice": "alloy"})

    actions = session.on_frame(
        _frame("session.update", session={"output": {"voice": None}}), T0 + 1
    )

    assert _single_error(actions)["code"] == "immutable_field"
    assert session.config["output"]["voice"] == "alloy"


def test_immutable_fields_may_be_set_before_ready() -> None:
    session = _session()

    _ready(
        session,
        output={"voice": "alloy", "format": {"encoding": "audio/pcma"}},
        input={"format": {"encoding": "audio/pcmu"}},
    )

    assert session.config["output"]["voice"] == "alloy"
    assert session.config["output"]["format"]["encoding"] == "audio/pcma"
    assert session.config["input"]["format"]["encoding"] == "audio/pcmu"


def test_agent_id_with_other_fields_is_invalid_config() -> None:
    session = _session()

    actions = session.on_frame(
        _frame("session.update", session={"agent_id": "demo-retail", "greeting": "x"}), T0
    )

    error = _single_error(actions)
    assert error["code"] == "invalid_config"
    assert error["param"] == "session.agent_id"
    assert session.state == "connecting"


def test_agent_id_binds_the_stored_line_with_its_greeting() -> None:
    other = SupportLine(line_id="billing", name="Billing", greeting="Billing here.")
    session = _session()
    session.lines = {"demo-retail": LINE, "billing": other}

    actions = session.on_frame(_frame("session.update", session={"agent_id": "billing"}), T0)

    assert session.state == "ready" and session.line is other
    started = next(p for p in _published(actions) if isinstance(p, CallStarted))
    assert started.line_id == "billing"
    agent = next(f for f in _sent(actions) if f["type"] == "transcript.agent")
    assert agent["text"] == "Billing here."


def test_an_unknown_agent_id_is_invalid_config() -> None:
    session = _session()
    session.lines = {"demo-retail": LINE}

    error = _single_error(session.on_frame(_frame("session.update", session={"agent_id": "x"}), T0))

    assert (error["code"], error["param"]) == ("invalid_config", "session.agent_id")
    assert session.state == "connecting" and session.line is LINE


def test_agent_id_after_ready_is_immutable() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("session.update", session={"agent_id": "x"}), T0 + 1)

    assert _single_error(actions)["code"] == "immutable_field"


def test_failed_update_keeps_the_session_connecting_and_its_config() -> None:
    session = _session()

    actions = session.on_frame(_frame("session.update", session={"bogus": 1}), T0)

    assert _single_error(actions)["code"] == "invalid_config"
    assert session.state == "connecting"
    assert session.config == DEFAULT_CONFIG


# -- other client events -----------------------------------------------------------------------


def test_a_checkpoint_restores_config_and_context_and_resumes_with_the_same_id() -> None:
    session = _session()
    session.on_frame(_frame("session.update", session={"system_prompt": "be brief"}), T0)
    session.on_frame(_frame("input.text", text="hello"), T0 + 1)
    changes = session.changes
    checkpoint = session.checkpoint(owner="sha256:o", gateway_id="gw-a", dropped=True)
    assert changes > 0 and checkpoint.state == "dropped"

    restored = VoiceSession.restored(checkpoint, line=session.line, max_frame_bytes=65536)
    actions = restored.resumed()

    assert restored.state == "ready" and restored.context == session.context
    assert [a.frame["type"] for a in actions if isinstance(a, Send)] == ["session.ready"]
    ready = actions[0].frame  # type: ignore[union-attr]
    assert ready["session_id"] == session.session_id
    assert ready["config"]["system_prompt"] == "be brief"
    assert _published(actions) == []  # a resumed call is the same call: no call.started


def test_resume_after_ready_is_invalid_value() -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("session.resume", session_id="sess_x"), T0 + 1)

    assert _single_error(actions)["code"] == "invalid_value"


@pytest.mark.parametrize("role", ["assistant", "tool", None, 3])
def test_conversation_message_with_a_bad_role_is_invalid_value(role: Any) -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("conversation.message", role=role, content="x"), T0 + 1)

    error = _single_error(actions)
    assert error["code"] == "invalid_value"
    assert error["param"] == "role"


def test_conversation_message_adds_context_without_a_reply() -> None:
    session = _session()
    _ready(session)
    context_before = len(session.context)

    actions = session.on_frame(
        _frame("conversation.message", role="system", content="caller is a VIP"), T0 + 1
    )

    assert actions == []
    assert session.context[context_before:] == [{"role": "system", "content": "caller is a VIP"}]


@pytest.mark.parametrize(
    "body",
    [
        {"call_id": "call_1", "result": "{}"},
        {"tool_call_id": "call_1", "output": "{}"},
        {"result": "{}"},
    ],
)
def test_tool_result_without_a_pending_call_is_invalid_value(body: dict[str, Any]) -> None:
    session = _session()
    _ready(session)

    actions = session.on_frame(_frame("tool.result", **body), T0 + 1)

    assert _single_error(actions)["code"] == "invalid_value"
