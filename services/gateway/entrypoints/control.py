"""Call control on a live connection: the commands of ``cc.call-control.v1`` and the call state.

``CallControl`` belongs to one connection. It watches every action the connection carries out
(to publish ``call.state_changed`` and to know when a goodbye has played) and applies the
commands addressed to its call: ``say``, ``whisper``, ``pause_agent``, ``resume_agent``,
``hangup`` and ``handoff``. A ``handoff`` that names a ``dial`` target transfers a phone call
out through Twilio (``transfer.dial_out``) and falls back to holding for the desk if that fails;
other channels ignore ``dial`` and hold for the desk. ``ControlRouter`` belongs to the gateway:
it hands each command to the connection that holds the call, at most once per command, and
answers it with a ``control.applied`` event (the audit trail). Commands for calls held elsewhere
are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from services.gateway.domain.actions import Action, Publish, Send
from services.gateway.domain.call_state import CallStatus
from services.gateway.domain.session import VoiceSession
from services.gateway.entrypoints.transfer import dial_out
from services.gateway.ports import CallTransfer
from shared.events import (
    ControlApplied,
    ControlCommand,
    Envelope,
    EventPayload,
    Handoff,
    HandoffCompleted,
    HandoffFailed,
    Hangup,
    PauseAgent,
    ResumeAgent,
    Say,
    Whisper,
)

log = logging.getLogger(__name__)

# How long a hangup waits for its goodbye to play before ending the call anyway. A goodbye is
# a sentence or two; past this bound the caller hears it cut off rather than wait on a stall.
GOODBYE_MAX_S = 20.0
# Command ids remembered per gateway to apply each command at most once; oldest forgotten first
# (a redelivery that old is long past its call).
SEEN_COMMANDS = 10_000
# A caller on hold is released by the gateway itself this long after the line's maximum wait,
# should the session service (which normally gives up at the maximum wait) be gone: nobody holds
# forever. The release says the line's no-agent message and ends the call.
HOLD_GRACE_S = 30.0


class Connection(Protocol):
    """What call control needs of a voice connection (``connection.CallConnection``)."""

    session: VoiceSession

    def perform(self, actions: Sequence[Action]) -> None: ...

    def stop_reply(self) -> None:
        """Cancel the agent turn in progress and cut the reply being spoken."""
        ...

    def offer(self, frame: dict[str, Any]) -> bool:
        """Queue a frame for the caller; False (dropped) when the caller is behind."""
        ...


class AudioBridge(Protocol):
    """A human agent's audio bridge into the call (``bridge.Bridge``)."""

    def caller_audio(self, raw: bytes) -> None: ...

    def caller_left(self, reason: str) -> None: ...


@dataclass(frozen=True)
class PhoneLeg:
    """The Twilio call behind a phone connection, and how to move it elsewhere."""

    account_sid: str
    call_sid: str
    transfer: CallTransfer | None


class CallControl:
    """Call control and call state of one connection."""

    def __init__(self, conn: Connection, *, hold_grace_s: float = HOLD_GRACE_S) -> None:
        self.conn = conn
        self.hold_grace_s = hold_grace_s
        self.status = CallStatus()
        self.bridge: AudioBridge | None = None
        self.queue: str | None = None
        self._goodbyes: dict[str, asyncio.Event] = {}
        self._speaking: str | None = None  # the reply being played
        self._ending: asyncio.Task[None] | None = None
        self._hold_timer: asyncio.TimerHandle | None = None
        # Phone calls: the Twilio call, and whether it was transferred out (then it is over).
        self.phone: PhoneLeg | None = None
        self.transferred = False
        self._dialing: asyncio.Task[None] | None = None

    # -- what the connection does --------------------------------------------------------------

    def observe(self, action: Action) -> list[Action]:
        """State events caused by ``action``; also notes replies that finished playing."""
        if isinstance(action, Send) and action.frame.get("type") == "reply.started":
            self._speaking = str(action.frame.get("reply_id"))
        if isinstance(action, Send) and action.frame.get("type") == "reply.done":
            reply_id = str(action.frame.get("reply_id"))
            if self._speaking == reply_id:
                self._speaking = None
            waiter = self._goodbyes.pop(reply_id, None)
            if waiter is not None:
                waiter.set()
        return self.status.observe(action)

    def end_after_reply(self) -> None:
        """The agent said goodbye: hang up (``completed``) once the reply has played."""
        if self._ending is not None or self.conn.session.state != "ready":
            return
        reply_id = self._speaking
        played = asyncio.Event()
        if reply_id is None:
            played.set()
        else:
            self._goodbyes[reply_id] = played
        self._ending = asyncio.create_task(self._hang_up_after(played), name="goodbye")

    async def _hang_up_after(self, played: asyncio.Event) -> None:
        session = self.conn.session
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(played.wait(), GOODBYE_MAX_S)
        if session.state == "ready":
            self.conn.perform(session.hang_up(time.time(), "completed"))

    def closed(self, reason: str) -> None:
        """The caller's socket closed: a bridge is told and closed; a hangup stops waiting."""
        if self.bridge is not None:
            self.bridge.caller_left(reason)
            self.bridge = None
        for task in (self._ending, self._dialing):
            if task is not None and not task.done():
                task.cancel()
        self._stop_hold_timer()

    # -- commands ------------------------------------------------------------------------------

    def apply(self, command: ControlCommand) -> str | None:
        """Carry out ``command``; None when done, else why it was refused (no caller text)."""
        session = self.conn.session
        if session.state != "ready":
            return "the call is not live"
        if self._ending is not None:
            return "the call is ending"
        with_human = self.status.hold == "with_human"
        if isinstance(command, Say):
            if with_human:
                return "the caller is talking with a person"
            self.conn.stop_reply()
            self.conn.perform(session.announce(command.text))
        elif isinstance(command, Whisper):
            if self.status.hold is not None:
                return "no reply to whisper into: the caller is handed off"
            session.whisper(command.text)
        elif isinstance(command, PauseAgent):
            session.pause(True)
            self.conn.stop_reply()
        elif isinstance(command, ResumeAgent):
            if with_human:
                return "the caller is talking with a person"
            session.pause(False)
            self._stop_hold_timer()
            self.queue = None
            self.conn.perform(self.status.set_hold(None))
        elif isinstance(command, Hangup):
            self._ending = asyncio.create_task(self._hang_up(command), name="hangup")
        elif isinstance(command, Handoff):
            return self._handoff(command)
        else:
            return "unknown command"
        return None

    def _handoff(self, command: Handoff) -> str | None:
        if self.status.hold == "on_hold" and command.agent_id is not None:
            # A supervisor's takeover of a call already waiting: the desk now offers it to them
            # alone; the caller goes on holding (same hold message, same bound).
            return None
        if self.status.hold is not None:
            return "the call is already handed off"
        session = self.conn.session
        self.conn.stop_reply()
        session.pause(True)
        phone = self.phone
        if command.dial is not None and phone is not None and phone.transfer is not None:
            # The hold message plays, then the call is redirected; on failure it waits here.
            dial = dial_out(self, phone, command)
            self._dialing = asyncio.create_task(dial, name="dial-out")
        elif command.say:
            self.conn.perform(session.announce(command.say))
        self.queue = command.queue
        self.conn.perform(self.status.set_hold("on_hold"))
        handoff = session.line.handoff
        self._stop_hold_timer()
        self._hold_timer = asyncio.get_running_loop().call_later(
            handoff.max_wait_s + self.hold_grace_s, self._hold_expired
        )
        return None

    def _stop_hold_timer(self) -> None:
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None

    def _hold_expired(self) -> None:
        """Still on hold long past the line's maximum wait: nobody is coming; end politely."""
        self._hold_timer = None
        session = self.conn.session
        if self.status.hold != "on_hold" or self._ending is not None or session.state != "ready":
            return
        log.warning(
            "caller held past the maximum wait; ending", extra={"call_id": session.session_id}
        )
        self.conn.perform([Publish(HandoffFailed(reason="hold_timeout"))])
        goodbye = Hangup(
            issued_by="gateway:hold-timeout",
            reason="no_agent_available",
            say=session.line.handoff.no_agent_message,
        )
        self._ending = asyncio.create_task(self._hang_up(goodbye), name="hold-timeout")

    async def _hang_up(self, command: Hangup) -> None:
        session = self.conn.session
        try:
            self.conn.stop_reply()
            session.pause(True)
            if command.say:
                await self.say_and_wait(command.say)
            self.conn.perform(session.hang_up(time.time(), command.reason))
        except Exception:
            log.warning("hangup could not be carried out", extra={"call_id": session.session_id})

    def transferred_out(self, target: str) -> None:
        """The phone call was redirected to ``target``: it is with a person, and over for us."""
        self.transferred = True
        self._stop_hold_timer()
        self.conn.perform([Publish(HandoffCompleted(agent_id="external", target=target))])
        self.conn.perform(self.status.set_hold("with_human"))

    async def say_and_wait(self, text: str) -> None:
        """Say ``text`` and return once it has played (at most ``GOODBYE_MAX_S``)."""
        actions = self.conn.session.announce(text)
        reply_id = next(
            (
                str(a.frame["reply_id"])
                for a in actions
                if isinstance(a, Send) and a.frame.get("type") == "reply.started"
            ),
            None,
        )
        if reply_id is None:
            return
        played = self._goodbyes[reply_id] = asyncio.Event()
        self.conn.perform(actions)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(played.wait(), GOODBYE_MAX_S)
        self._goodbyes.pop(reply_id, None)


class ControlRouter:
    """Hands commands to the live calls of this gateway, each at most once."""

    def __init__(self, calls: dict[str, CallControl]) -> None:
        self._calls = calls
        self._seen: OrderedDict[str, None] = OrderedDict()

    def handle(self, envelope: Envelope, payload: EventPayload) -> bool:
        """Apply a command to the call it addresses; False when it is not ours (or a repeat)."""
        if not isinstance(payload, ControlCommand):
            return False
        call = self._calls.get(envelope.call_id)
        command_id = str(envelope.event_id)
        if call is None or command_id in self._seen:
            return False
        self._seen[command_id] = None
        if len(self._seen) > SEEN_COMMANDS:
            self._seen.popitem(last=False)
        try:
            detail = call.apply(payload)
        except Exception:
            log.exception("call-control command failed", extra={"call_id": envelope.call_id})
            detail = "the gateway could not carry it out"
        applied = ControlApplied(
            command=payload.event_type,
            command_id=command_id,
            issued_by=payload.issued_by,
            ok=detail is None,
            detail=detail or "",
        )
        log.info(
            "call-control command applied" if detail is None else "call-control command refused",
            extra={"call_id": envelope.call_id, "command": payload.event_type},
        )
        with contextlib.suppress(Exception):
            call.conn.perform([Publish(applied)])
        return True
