"""Call control in the session core and on a connection: commands, call state, audit events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any, cast

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from services.gateway.domain.actions import Action, Close, Publish, Respond, Send
from services.gateway.domain.call_state import CallStatus
from services.gateway.domain.checkpoint import Checkpoint
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.domain.session_control import MAX_WHISPERS
from services.gateway.entrypoints.bridge import MAX_QUEUED_FRAMES, Bridge
from services.gateway.entrypoints.control import CallControl, ControlRouter
from services.gateway.entrypoints.replies import _session_prompt
from shared.bridge_tokens import BridgeGrant
from shared.events import (
    CallEnded,
    CallStarted,
    CallStateChanged,
    ControlApplied,
    Envelope,
    Handoff,
    HandoffFailed,
    Hangup,
    PauseAgent,
    ResumeAgent,
    Say,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    Whisper,
    new_event,
)
from shared.lines import SupportLine

T0 = 1_000.0
LINE = SupportLine(line_id="demo", name="Demo", greeting="Hello there", config_hash="sha256:a")


def _session(**fields: Any) -> VoiceSession:
    return VoiceSession(
        session_id=new_session_id(),
        line=LINE,
        started_at=T0,
        max_session_s=3600,
        max_frame_bytes=65_536,
        **fields,
    )


def _ready(session: VoiceSession) -> list[Action]:
    return session.on_frame(json.dumps({"type": "session.update", "session": {}}), T0 + 0.1)


def _text(session: VoiceSession, text: str) -> list[Action]:
    return session.on_frame(json.dumps({"type": "input.text", "text": text}), T0 + 1)


def _states(actions: Sequence[Action]) -> list[str]:
    return [
        a.payload.state
        for a in actions
        if isinstance(a, Publish) and isinstance(a.payload, CallStateChanged)
    ]


# -- the session core ---------------------------------------------------------------------------


def test_a_paused_agent_takes_no_turns_but_the_caller_is_still_heard() -> None:
    session = _session()
    _ready(session)
    assert any(isinstance(a, Respond) for a in _text(session, "hello"))
    session.pause(True)
    actions = _text(session, "are you there")
    assert not any(isinstance(a, Respond) for a in actions)
    assert [a.frame["type"] for a in actions if isinstance(a, Send)] == ["transcript.user"]
    assert session.on_frame(json.dumps({"type": "reply.create"}), T0 + 2) == []
    session.pause(False)
    assert any(isinstance(a, Respond) for a in _text(session, "hello again"))


def test_announce_speaks_without_the_agent_and_whispers_are_bounded() -> None:
    session = _session()
    _ready(session)
    actions = session.announce("Please hold.")
    assert not any(isinstance(a, Respond) for a in actions)
    transcripts = [a.payload for a in actions if isinstance(a, Publish)]
    assert [t.text for t in transcripts if isinstance(t, TranscriptAgent)] == ["Please hold."]
    assert session.context[-1] == {"role": "assistant", "content": "Please hold."}
    for n in range(MAX_WHISPERS + 3):
        session.whisper(f"note {n}")
    assert len(session.whispers) == MAX_WHISPERS and session.whispers[-1] == f"note {n}"
    assert "note 10" in _session_prompt(session) and "note 0" not in _session_prompt(session)


def test_pause_and_whispers_survive_a_checkpoint_and_call_started_has_attributes() -> None:
    session = _session(attributes={"gateway_url": "ws://gw:8080"})
    started = [a.payload for a in _ready(session) if isinstance(a, Publish)]
    assert isinstance(started[0], CallStarted)
    assert started[0].attributes == {"gateway_url": "ws://gw:8080"}
    session.whisper("offer the discount")
    session.pause(True)
    raw = session.checkpoint(owner="o", gateway_id="gw").model_dump_json()
    restored = VoiceSession.restored(
        Checkpoint.model_validate_json(raw), line=LINE, max_frame_bytes=65_536
    )
    assert restored.paused and restored.whispers == ["offer the discount"]
    # Redis's cjson writes empty lists back as objects.
    empty = json.loads(_session().checkpoint(owner="o", gateway_id="gw").model_dump_json())
    assert Checkpoint.model_validate({**empty, "whispers": {}, "context": {}}).whispers == []


def test_hang_up_ends_the_call_with_the_reason_and_closes_normally() -> None:
    session = _session()
    _ready(session)
    actions = session.hang_up(T0 + 5, "supervisor")
    ended = [a.payload for a in actions if isinstance(a, Publish)]
    assert isinstance(ended[0], CallEnded) and ended[0].reason == "supervisor"
    assert Close(1000, "session ended") in actions
    assert session.hang_up(T0 + 6, "again") == []


# -- the call state -------------------------------------------------------------------------------


def test_call_state_follows_replies_tools_and_holds_without_repeats() -> None:
    status = CallStatus()
    assert status.observe(Send({"type": "reply.started", "reply_id": "r0"})) == []  # not live
    seen: list[str] = []
    actions: list[Action] = [
        Publish(CallStarted(channel="voice_agent", line_id="demo")),
        Send({"type": "reply.started", "reply_id": "r1"}),
        Publish(ToolCall(tool_call_id="t1", name="x", executor="server")),
        Publish(ToolResult(tool_call_id="t1", status="ok", duration_ms=3)),
        Send({"type": "transcript.agent", "reply_id": "r1"}),
        Send({"type": "reply.done", "reply_id": "r1", "status": "completed"}),
        Send({"type": "reply.done", "reply_id": "r1", "status": "completed"}),
    ]
    for action in actions:
        seen += _states(status.observe(action))
    assert seen == ["listening", "agent_speaking", "tool_running", "agent_speaking", "listening"]
    assert _states(status.set_hold("on_hold")) == ["on_hold"]
    # Held: a reply (the hold message) does not change what the call is doing.
    assert _states(status.observe(Send({"type": "reply.started", "reply_id": "r2"}))) == []
    assert _states(status.set_hold("with_human")) == ["with_human"]
    assert _states(status.set_hold("with_human")) == []
    assert _states(status.disconnected()) == ["disconnected"]


def test_an_interrupted_reply_drops_its_tool_calls_from_the_state() -> None:
    status = CallStatus()
    status.observe(Publish(CallStarted(channel="voice_agent", line_id="demo")))
    status.observe(Send({"type": "reply.started", "reply_id": "r1"}))
    status.observe(Publish(ToolCall(tool_call_id="t1", name="x", executor="client")))
    assert status.state == "tool_running"
    done = Send({"type": "reply.done", "reply_id": "r1", "status": "interrupted"})
    assert _states(status.observe(done)) == ["listening"]


# -- a connection's call control -----------------------------------------------------------------


class FakeConnection:
    """A text connection: performs actions into lists, as ``CallConnection`` would send them."""

    def __init__(self) -> None:
        self.session = _session()
        self.control = CallControl(self)
        self.sent: list[dict[str, Any]] = []
        self.published: list[Any] = []
        self.stopped = 0

    def perform(self, actions: Sequence[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self.sent.append(action.frame)
            elif isinstance(action, Publish):
                self.published.append(action.payload)
            for event in self.control.observe(action):
                assert isinstance(event, Publish)
                self.published.append(event.payload)

    def stop_reply(self) -> None:
        self.stopped += 1

    def offer(self, frame: dict[str, Any]) -> bool:
        self.sent.append(frame)
        return True

    def states(self) -> list[str]:
        return [p.state for p in self.published if isinstance(p, CallStateChanged)]


def _connected() -> FakeConnection:
    conn = FakeConnection()
    conn.perform(_ready(conn.session))
    return conn


def _envelope(command: Any, call_id: str) -> Envelope:
    return new_event(command, call_id=call_id, line_id="demo", source="test")


async def test_the_router_applies_each_command_once_to_the_call_it_holds() -> None:
    conn = _connected()
    router = ControlRouter({conn.session.session_id: conn.control})
    say = _envelope(Say(issued_by="supervisor:k1", text="A word from us."), conn.session.session_id)
    assert router.handle(say, say_payload := Say.model_validate(say.payload))
    assert not router.handle(say, say_payload)  # redelivered: applied once
    other = _envelope(Say(issued_by="rule:r", text="not yours"), "sess_" + uuid.uuid4().hex)
    assert not router.handle(other, Say.model_validate(other.payload))
    spoken = [f["text"] for f in conn.sent if f["type"] == "transcript.agent"]
    assert spoken == ["Hello there", "A word from us."]
    assert conn.stopped == 1
    applied = [p for p in conn.published if isinstance(p, ControlApplied)]
    assert [(a.command, a.command_id, a.issued_by, a.ok) for a in applied] == [
        ("say", str(say.event_id), "supervisor:k1", True)
    ]


async def test_handoff_holds_the_call_and_refusals_are_audited_without_caller_text() -> None:
    conn = _connected()
    router = ControlRouter({conn.session.session_id: conn.control})
    call_id = conn.session.session_id

    def send(command: Any) -> ControlApplied:
        envelope = _envelope(command, call_id)
        router.handle(envelope, command)
        found = [p for p in conn.published if isinstance(p, ControlApplied)]
        return found[-1]

    assert send(Handoff(issued_by="rule:r1", queue="billing", say="Please hold.")).ok
    assert conn.session.paused and conn.control.queue == "billing"
    assert conn.states()[-1] == "on_hold"
    assert [f["text"] for f in conn.sent if f["type"] == "transcript.agent"][-1] == "Please hold."
    refused = send(Whisper(issued_by="supervisor:k", text="secret caller detail"))
    assert not refused.ok and refused.detail.startswith("no reply to whisper into")
    assert "secret" not in refused.detail and conn.session.whispers == []
    again = send(Handoff(issued_by="rule:r1", queue="billing"))
    assert not again.ok and again.detail == "the call is already handed off"
    # A supervisor taking over the held call: accepted, the caller goes on holding, unannounced.
    heard = len(conn.sent)
    takeover = Handoff(issued_by="supervisor:k", queue="billing", say="Hold on.", agent_id="sup")
    assert send(takeover).ok and conn.states()[-1] == "on_hold"
    assert not [f for f in conn.sent[heard:] if f["type"] == "transcript.agent"]
    assert send(ResumeAgent(issued_by="supervisor:k")).ok
    assert not conn.session.paused and conn.states()[-1] == "listening"
    assert send(PauseAgent(issued_by="supervisor:k")).ok and conn.session.paused


async def test_hangup_says_goodbye_then_ends_the_call() -> None:
    conn = _connected()
    router = ControlRouter({conn.session.session_id: conn.control})
    command = Hangup(issued_by="desk:a1", reason="callback_offered", say="Goodbye now.")
    router.handle(_envelope(command, conn.session.session_id), command)
    ending = conn.control._ending
    assert ending is not None
    await asyncio.wait_for(ending, 2)
    assert [f["text"] for f in conn.sent if f["type"] == "transcript.agent"][-1] == "Goodbye now."
    assert conn.sent[-1]["type"] == "session.ended"
    ended = [p for p in conn.published if isinstance(p, CallEnded)]
    assert [e.reason for e in ended] == ["callback_offered"]
    late = Say(issued_by="supervisor:k", text="too late")
    router.handle(_envelope(late, conn.session.session_id), late)
    assert [p for p in conn.published if isinstance(p, ControlApplied)][-1].ok is False


async def test_a_caller_held_past_the_maximum_wait_is_released_by_the_gateway() -> None:
    # The session service normally gives up at the line's maximum wait; if it is gone, the
    # gateway itself ends the hold a grace period later, with the line's no-agent message.
    conn = _connected()
    conn.session.line = LINE.model_copy(
        update={"handoff": LINE.handoff.model_copy(update={"max_wait_s": 0.05})}
    )
    conn.control.hold_grace_s = 0.05
    router = ControlRouter({conn.session.session_id: conn.control})
    command = Handoff(issued_by="rule:r1", queue="billing", say="Please hold.")
    router.handle(_envelope(command, conn.session.session_id), command)
    assert conn.states()[-1] == "on_hold"
    await asyncio.sleep(0.3)
    ending = conn.control._ending
    assert ending is not None
    await asyncio.wait_for(ending, 2)
    failed = [p.reason for p in conn.published if isinstance(p, HandoffFailed)]
    assert failed == ["hold_timeout"]
    spoken = [f["text"] for f in conn.sent if f["type"] == "transcript.agent"]
    assert spoken[-1] == LINE.handoff.no_agent_message
    assert [e.reason for e in conn.published if isinstance(e, CallEnded)] == ["no_agent_available"]


async def test_a_released_hold_does_not_end_the_call_later() -> None:
    conn = _connected()
    conn.session.line = LINE.model_copy(
        update={"handoff": LINE.handoff.model_copy(update={"max_wait_s": 0.05})}
    )
    conn.control.hold_grace_s = 0.05
    router = ControlRouter({conn.session.session_id: conn.control})
    for command in (Handoff(issued_by="rule:r1", queue="q"), ResumeAgent(issued_by="sup:k")):
        router.handle(_envelope(command, conn.session.session_id), command)
    await asyncio.sleep(0.3)
    assert conn.control._ending is None
    assert not [p for p in conn.published if isinstance(p, HandoffFailed | CallEnded)]


# -- the bridge's bounds ---------------------------------------------------------------------------


class StuckAgentSocket:
    """An agent socket that never reads what it is sent (and never sends)."""

    client_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.closed: tuple[int, str] | None = None
        self._never = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self._never.wait()
        return {}

    async def send_bytes(self, data: bytes) -> None:
        await self._never.wait()

    async def send_text(self, text: str) -> None:
        self.texts.append(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def _bridge(conn: FakeConnection) -> tuple[Bridge, StuckAgentSocket]:
    socket = StuckAgentSocket()
    grant = BridgeGrant(call_id=conn.session.session_id, agent_id="a1")
    return Bridge(cast(WebSocket, socket), conn.control, grant), socket


async def test_an_agent_who_stops_reading_is_dropped_not_buffered() -> None:
    bridge, socket = _bridge(_connected())
    running = asyncio.create_task(bridge.run())
    chunk = b"\x00\x10" * 1200  # 50 ms of caller audio
    for _ in range(MAX_QUEUED_FRAMES + 5):
        bridge.caller_audio(chunk)
    assert await asyncio.wait_for(running, 2) == "lost"
    assert socket.closed == (1008, "agent too slow")


async def test_the_caller_leaving_tells_the_agent_and_closes_the_bridge() -> None:
    bridge, socket = _bridge(_connected())
    running = asyncio.create_task(bridge.run())
    bridge.caller_left("client_ended")
    assert await asyncio.wait_for(running, 2) == "caller_left"
    assert [json.loads(t) for t in socket.texts] == [
        {"type": "bridge.ended", "reason": "client_ended"}
    ]
    assert socket.closed == (1000, "caller left")
