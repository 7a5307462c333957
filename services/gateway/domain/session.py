"""One voice-agent session as a state machine, sans I/O.

The WebSocket layer feeds it frames and timer ticks and carries out the actions it returns:
frames to send, events to publish, and when to close. Unit tests drive it with plain strings.
"""

from __future__ import annotations

import copy
import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from services.gateway.domain.actions import (
    Action,
    CancelReply,
    Close,
    Hear,
    Publish,
    Send,
    Speak,
)
from services.gateway.domain.checkpoint import Checkpoint
from services.gateway.domain.client_tools import parse_tool_result, tool_call_frame
from services.gateway.domain.config import DEFAULT_CONFIG, apply_update
from services.gateway.domain.protocol import (
    MAX_TEXT_CHARS,
    ClientEvent,
    ErrorCode,
    ProtocolError,
    decode_audio_field,
    error_frame,
    parse_client_frame,
    text_field,
)
from services.gateway.domain.session_control import SessionControl
from shared.audio.codecs import WIRE_FORMATS
from shared.events import (
    CallEnded,
    CallStarted,
    Interruption,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
)
from shared.lines import SupportLine

# Conversation context kept per session (messages); the oldest are dropped past it.
MAX_CONTEXT_MESSAGES = 200


# Client tool calls one session may have outstanding; a model asking for more is told no.
MAX_PENDING_TOOLS = 16
# Audio may arrive at most this much faster than real time (plus a burst allowance).
MAX_AUDIO_RATE = 2.0
AUDIO_BURST_S = 2.0
# Largest decoded input.audio chunk (10 s of 24 kHz PCM16).
MAX_AUDIO_CHUNK_BYTES = 480_000
State = Literal["connecting", "ready", "ended"]


def new_session_id() -> str:
    return "sess_" + uuid.uuid4().hex


def _item_id() -> str:
    return "item_" + uuid.uuid4().hex[:16]


def _reply_id() -> str:
    return "reply_" + uuid.uuid4().hex[:16]


@dataclass
class VoiceSession(SessionControl):
    """A session from the first frame to ``session.ended``."""

    session_id: str
    line: SupportLine
    started_at: float
    max_session_s: int
    max_frame_bytes: int
    channel: Literal["voice_agent", "twilio", "text"] = "voice_agent"
    # The lines a session may bind by ``agent_id`` (a stored agent is a support line).
    lines: Mapping[str, SupportLine] = field(default_factory=dict)
    state: State = "connecting"
    config: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_CONFIG))
    context: list[dict[str, Any]] = field(default_factory=list)
    # Client tool calls waiting for tool.result: call_id -> (tool name, started_at).
    pending_tools: dict[str, tuple[str, float]] = field(default_factory=dict)
    audio_seconds: float = 0.0
    turns: int = 0
    # True when the speech pipeline runs: audio is heard and replies are spoken (Speak).
    voice: bool = False
    first_audio_at: float | None = None
    # Bumped whenever resumable state changes, so the I/O layer knows when to checkpoint.
    changes: int = 0
    # Call control: a paused agent takes no turns (the caller is held or with a person), and
    # whispers are instructions for the agent's next turns, never spoken.
    paused: bool = False
    whispers: list[str] = field(default_factory=list)
    # Extra attributes of ``call.started`` (the gateway's public URL, for the bridge).
    attributes: dict[str, str] = field(default_factory=dict)
    # The caller's phone number (phone calls): on ``call.started`` only, for customer lookup.
    caller: str | None = None

    # -- resume --------------------------------------------------------------------------------

    def checkpoint(self, *, owner: str, gateway_id: str, dropped: bool = False) -> Checkpoint:
        """The resumable state of this session."""
        return Checkpoint(
            session_id=self.session_id,
            owner=owner,
            line_id=self.line.line_id,
            gateway_id=gateway_id,
            state="dropped" if dropped else "live",
            started_at=self.started_at,
            max_session_s=self.max_session_s,
            config=self.config,
            context=self.context,
            pending_tools=self.pending_tools,
            audio_seconds=self.audio_seconds,
            turns=self.turns,
            paused=self.paused,
            whispers=self.whispers,
        )

    @classmethod
    def restored(
        cls, checkpoint: Checkpoint, *, line: SupportLine, max_frame_bytes: int
    ) -> VoiceSession:
        """The session a checkpoint describes, ready to go on where it stopped."""
        return cls(
            session_id=checkpoint.session_id,
            line=line,
            started_at=checkpoint.started_at,
            max_session_s=checkpoint.max_session_s,
            max_frame_bytes=max_frame_bytes,
            state="ready",
            config=copy.deepcopy(checkpoint.config),
            context=list(checkpoint.context),
            pending_tools=dict(checkpoint.pending_tools),
            audio_seconds=checkpoint.audio_seconds,
            turns=checkpoint.turns,
            paused=checkpoint.paused,
            whispers=list(checkpoint.whispers),
        )

    def resumed(self) -> list[Action]:
        """``session.ready`` with the same id; no new call, no greeting (protocol doc)."""
        return [Send(self._ready_frame())]

    # -- inputs --------------------------------------------------------------------------------

    def on_frame(self, raw: str | bytes, now: float) -> list[Action]:
        """Everything one client frame causes. Protocol errors never end the session."""
        if self.state == "ended":
            return []
        try:
            event = parse_client_frame(raw, max_bytes=self.max_frame_bytes)
            return self._dispatch(event, now)
        except ProtocolError as exc:
            return [Send(error_frame(exc.code, exc.message, exc.param))]

    def on_audio(self, raw: bytes, now: float) -> list[Action]:
        """Caller audio in the input encoding, at most ``MAX_AUDIO_RATE`` times real time."""
        if self.state != "ready":
            return []
        wire = WIRE_FORMATS[self.config["input"]["format"]["encoding"]]
        seconds = len(raw) / wire.bytes_per_second
        if self.first_audio_at is None:
            self.first_audio_at = now
        allowed = (now - self.first_audio_at) * MAX_AUDIO_RATE + AUDIO_BURST_S
        if self.audio_seconds + seconds > allowed:
            raise ProtocolError(
                "audio_rate_violation", "audio is arriving faster than twice real time", "audio"
            )
        self.audio_seconds += seconds
        return [Hear(raw)] if self.voice and raw else []

    def on_ready_timeout(self, now: float) -> list[Action]:
        """No ``session.update`` arrived in time: go ready with the default config."""
        return self._become_ready(now) if self.state == "connecting" else []

    def on_disconnect(self, now: float, reason: str) -> list[Action]:
        """The socket went away (or the server closes it): the call ends."""
        return self._end(now, reason, send=False)

    def error(self, code: ErrorCode, message: str) -> list[Action]:
        return [Send(error_frame(code, message))]

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, event: ClientEvent, now: float) -> list[Action]:
        body = event.body
        if event.type == "session.update":
            return self._update(body.get("session", {}), now)
        if event.type == "session.resume":
            # The I/O layer resumes a first-message session.resume (it needs the store).
            raise ProtocolError("invalid_value", "session.resume must be the first message")
        if event.type == "session.end":
            return self._end(now, "client_ended", send=True)
        if self.state == "connecting":
            if event.type == "input.audio":
                return []  # audio before session.ready is dropped quietly (protocol doc)
            actions = self._become_ready(now)
            return actions + self._dispatch(event, now)
        if event.type == "input.audio":
            return self._audio(body, now)
        if event.type == "input.text":
            return self._user_turn(text_field(body, "text"))
        if event.type == "conversation.message":
            role = body.get("role")
            if role not in ("user", "system"):
                raise ProtocolError("invalid_value", "role must be user or system", "role")
            self._remember(role, text_field(body, "content"))
            return []
        if event.type == "reply.create":
            instructions = body.get("instructions")
            if instructions is not None:
                instructions = text_field(body, "instructions")
            return self._respond(instructions)
        if event.type == "tool.result":
            return self._tool_result(body, now)
        # reply.cancel: the reply in progress stops, spoken or still being written.
        return [CancelReply()]

    # -- behaviour -----------------------------------------------------------------------------

    def _update(self, session: Any, now: float) -> list[Action]:
        if isinstance(session, dict) and "agent_id" in session:
            if self.state != "connecting":
                raise ProtocolError("immutable_field", "agent_id is fixed", "session.agent_id")
            if len(session) != 1:
                raise ProtocolError(
                    "invalid_config", "agent_id must be the only field", "session.agent_id"
                )
            line = (
                self.lines.get(session["agent_id"])
                if isinstance(session["agent_id"], str)
                else None
            )
            if line is None:
                raise ProtocolError(
                    "invalid_config", "unknown agent_id for this gateway", "session.agent_id"
                )
            self.line = line  # the stored agent: its greeting, prompt, voice and tools
            return self._become_ready(now)
        self.config = apply_update(self.config, session, ready=self.state == "ready")
        self.changes += 1
        if self.state == "connecting":
            return self._become_ready(now)
        return [Send({"type": "session.updated", "config": self.config})]

    def _become_ready(self, now: float) -> list[Action]:
        self.state = "ready"
        if self.config["greeting"] is None and self.line.greeting:
            self.config["greeting"] = self.line.greeting
        self.changes += 1
        actions: list[Action] = [
            Send(self._ready_frame()),
            Publish(
                CallStarted(
                    channel=self.channel,
                    caller=self.caller,
                    line_id=self.line.line_id,
                    line_config_hash=self.line.config_hash,
                    attributes=self.attributes,
                )
            ),
        ]
        if self.config["greeting"]:
            actions += self._reply(self.config["greeting"])
        return actions

    def _ready_frame(self) -> dict[str, Any]:
        return {
            "type": "session.ready",
            "session_id": self.session_id,
            "config": self.config,
            "expires_at": int(self.started_at + self.max_session_s),
            "resume_token": secrets.token_urlsafe(24),
        }

    def _audio(self, body: dict[str, Any], now: float) -> list[Action]:
        return self.on_audio(decode_audio_field(body, max_bytes=MAX_AUDIO_CHUNK_BYTES), now)

    def heard(self, text: str, *, item_id: str, started_ms: int, ended_ms: int) -> list[Action]:
        """A caller turn the speech recogniser finished; empty text (noise) is ignored."""
        text = text.strip()[:MAX_TEXT_CHARS]
        if not text or self.state != "ready":
            return []
        return self._user_turn(text, item_id=item_id, started_ms=started_ms, ended_ms=ended_ms)

    def finish_reply(
        self, reply_id: str, item_id: str, text: str, *, interrupted: bool, played_ms: int
    ) -> list[Action]:
        """A spoken reply ended (played out, or cut by barge-in with ``text`` as played)."""
        self._remember("assistant", text)
        actions: list[Action] = [
            Send(
                {
                    "type": "transcript.agent",
                    "text": text,
                    "reply_id": reply_id,
                    "item_id": item_id,
                    "interrupted": interrupted,
                }
            ),
            Send(
                {
                    "type": "reply.done",
                    "status": "interrupted" if interrupted else "completed",
                    "reply_id": reply_id,
                }
            ),
            Publish(TranscriptAgent(reply_id=reply_id, text=text, interrupted=interrupted)),
        ]
        if interrupted:
            actions.append(Publish(Interruption(reply_id=reply_id, played_ms=played_ms)))
        return actions

    def _user_turn(
        self,
        text: str,
        *,
        item_id: str | None = None,
        started_ms: int | None = None,
        ended_ms: int | None = None,
    ) -> list[Action]:
        text = text.strip()
        if not text:
            raise ProtocolError("invalid_value", "text must not be empty", "text")
        item_id = item_id or _item_id()
        self.turns += 1
        self._remember("user", text)
        actions: list[Action] = [
            Send({"type": "transcript.user", "text": text, "item_id": item_id}),
            Publish(
                TranscriptUser(item_id=item_id, text=text, started_ms=started_ms, ended_ms=ended_ms)
            ),
        ]
        return [*actions, *self._respond()]

    def _reply(self, text: str) -> list[Action]:
        reply_id, item_id = _reply_id(), _item_id()
        if self.voice:
            return [
                Send({"type": "reply.started", "reply_id": reply_id, "item_id": item_id}),
                Speak(reply_id, item_id, text),
            ]
        self._remember("assistant", text)
        return [
            Send({"type": "reply.started", "reply_id": reply_id, "item_id": item_id}),
            Send(
                {
                    "type": "transcript.agent",
                    "text": text,
                    "reply_id": reply_id,
                    "item_id": item_id,
                    "interrupted": False,
                }
            ),
            Send({"type": "reply.done", "status": "completed", "reply_id": reply_id}),
            Publish(TranscriptAgent(reply_id=reply_id, text=text, interrupted=False)),
        ]

    # -- tools -------------------------------------------------------------------------------

    def begin_reply(self) -> tuple[str, str, list[Action]]:
        """Ids for an agent reply and its ``reply.started`` frame."""
        reply_id, item_id = _reply_id(), _item_id()
        return (
            reply_id,
            item_id,
            [Send({"type": "reply.started", "reply_id": reply_id, "item_id": item_id})],
        )

    def tool_called(
        self, call_id: str, name: str, arguments: dict[str, Any], *, client: bool, now: float
    ) -> list[Action]:
        """The agent called a tool: a client tool goes to the client as ``tool.call``."""
        actions: list[Action] = [
            Publish(
                ToolCall(
                    tool_call_id=call_id,
                    name=name,
                    arguments=arguments,
                    executor="client" if client else "server",
                )
            )
        ]
        if client and len(self.pending_tools) >= MAX_PENDING_TOOLS:
            self.pending_tools[call_id] = (name, now)
            too_many = {"status": "error", "error": "too many tool calls at once"}
            return actions + self._settle_tool(call_id, now, too_many)
        if client:
            self.pending_tools[call_id] = (name, now)
            self.changes += 1
            actions.append(Send(tool_call_frame(call_id, name, arguments)))
        return actions

    def tool_finished(
        self, call_id: str, status: Literal["ok", "error", "timeout"], duration_ms: int
    ) -> list[Action]:
        """A server tool's outcome, for the event log."""
        return [Publish(ToolResult(tool_call_id=call_id, status=status, duration_ms=duration_ms))]

    def tool_timed_out(self, call_id: str, now: float) -> list[Action]:
        """A client tool's ``timeout_seconds`` passed without a result: the agent goes on."""
        if call_id not in self.pending_tools:
            return []
        return self._settle_tool(call_id, now, {"status": "timeout", "error": "no answer in time"})

    def drop_pending_tools(self) -> None:
        """Barge-in: the interrupted reply's tool calls are dropped (late results ignored)."""
        if self.pending_tools:
            self.pending_tools.clear()
            self.changes += 1

    def _tool_result(self, body: dict[str, Any], now: float) -> list[Action]:
        call_id, outcome = parse_tool_result(body)
        if call_id not in self.pending_tools:
            if self._was_called(call_id):
                return []  # a late answer to a call that timed out or was interrupted
            raise ProtocolError("invalid_value", "no pending tool call with that id", "call_id")
        return self._settle_tool(call_id, now, outcome)

    def _was_called(self, call_id: str) -> bool:
        return any(
            call_id == call.get("id")
            for message in self.context
            for call in message.get("tool_calls") or []
        )

    def _settle_tool(self, call_id: str, now: float, outcome: dict[str, Any]) -> list[Action]:
        _, started = self.pending_tools.pop(call_id)
        self.changes += 1
        self.context.append(
            {"role": "tool", "tool_call_id": call_id, "content": json.dumps(outcome)}
        )
        actions: list[Action] = [
            Publish(
                ToolResult(
                    tool_call_id=call_id,
                    status=outcome["status"],
                    duration_ms=max(0, int((now - started) * 1000)),
                )
            )
        ]
        # The follow-up reply starts once every call of the turn has its answer.
        return actions if self.pending_tools else [*actions, *self._respond()]

    def remember(self, message: dict[str, Any]) -> None:
        """Add a message (an agent's tool call or a server tool's result) to the context."""
        self.changes += 1
        self.context.append(message)
        self._trim_context()

    def _remember(self, role: str, content: str) -> None:
        self.remember({"role": role, "content": content})

    def _trim_context(self) -> None:
        del self.context[:-MAX_CONTEXT_MESSAGES]

    def _end(self, now: float, reason: str, *, send: bool) -> list[Action]:
        if self.state == "ended":
            return []
        was_ready = self.state == "ready"
        self.state = "ended"
        duration = max(0.0, now - self.started_at)
        actions: list[Action] = []
        if was_ready:
            actions.append(Publish(CallEnded(reason=reason, duration_s=round(duration, 3))))
        if send:
            actions.append(
                Send(
                    {
                        "type": "session.ended",
                        "session_duration_seconds": round(duration, 3),
                        "audio_duration_seconds": round(self.audio_seconds, 3),
                    }
                )
            )
            actions.append(Close(1000, "session ended"))
        return actions
