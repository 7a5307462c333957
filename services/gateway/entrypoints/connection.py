"""A caller's connection, whatever its wire protocol: the session core and its I/O.

``CallConnection`` carries out what the session core asks (frames, events, speech, replies,
closing) for one socket. Frames are the Voice Agent API's; a ``Wire`` turns each into what the
socket speaks (the same frame for ``/v1/ws``, Twilio's ``media``/``mark``/``clear`` for phone
calls). One writer task drains a bounded outbox: a client too slow to read (it fills the outbox,
or a frame waits ``send_timeout_s`` to be taken) is dropped at once, never allowed to grow the
server's memory or hold the call. ``hold_call`` runs a connection from admission
to close: counters, the writer, and what happens to the call when the socket goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from fastapi import WebSocket
from prometheus_client import Gauge
from starlette.websockets import WebSocketDisconnect, WebSocketState

from services.gateway import handlers
from services.gateway.domain.actions import (
    Action,
    CancelReply,
    Close,
    Hear,
    Publish,
    Respond,
    Send,
    Speak,
)
from services.gateway.domain.drain import DRAINING, HANDOVER_CLOSE
from services.gateway.domain.session import VoiceSession
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.entrypoints.control import CallControl
from services.gateway.entrypoints.echo import EchoChannel
from services.gateway.entrypoints.replies import Replier, ReplyOutput, TextOutput
from services.gateway.entrypoints.turn_trace import TurnTrace
from services.gateway.entrypoints.voice import Playout, VoiceChannel
from shared.events import CallEnded, TranscriptUser, TurnMetrics
from shared.http.ws_abort import abort

log = logging.getLogger(__name__)

ACTIVE_SESSIONS = Gauge("switchboard_active_sessions", "Voice sessions this gateway holds.")
# How long the writer may take to flush the last frames before the socket is closed anyway.
CLOSE_FLUSH_S = 2.0
# Ends that leave the call resumable: the client may come back within the window.
RESUMABLE_ENDS = frozenset({"client_disconnected", "client_too_slow", DRAINING})
# While a dropped call waits out its window, how often it looks whether another gateway took it.
RESUME_POLL_S = 1.0


class Wire(Protocol):
    """Turns a Voice Agent API frame into the frames the socket speaks (maybe none)."""

    def outbound(self, frame: dict[str, Any]) -> list[dict[str, Any]]: ...


class ApiWire:
    """The Voice Agent API itself: every frame goes out as it is."""

    def outbound(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        return [frame]


class CallConnection:
    """One caller's socket: the session core, its voice, replies and call control."""

    def __init__(
        self,
        websocket: WebSocket,
        ctx: GatewayContext,
        session: VoiceSession,
        owner: str,
        *,
        wire: Wire | None = None,
        resumable: bool = True,
    ) -> None:
        self.ws = websocket
        self.wire = wire or ApiWire()
        # A dropped Voice Agent API call waits for a resume; a phone call that drops is over.
        self.resumable = resumable
        # How the caller's own playback reports what was heard (Twilio marks); None: estimated.
        self.playout: Playout | None = None
        self.ctx = ctx
        self.session = session
        self.owner = owner
        self.outbox: asyncio.Queue[dict[str, Any] | Close] = asyncio.Queue(
            maxsize=ctx.settings.send_queue_size
        )
        self.closing: Close | None = None
        # Set when the caller does not take its frames: the connection is dropped.
        self.too_slow = asyncio.Event()
        self.saved_changes = 0
        # Once saved as dropped, the checkpoint is another gateway's to claim: never written again.
        self.dropped_saved = False
        # A drain's handover is under way: frames read from now on are not taken in.
        self.handing_over = False
        # Done once ``hold_call`` has settled the call (set by ``hold_call``).
        self.settled: asyncio.Future[None] | None = None
        self._store_lock = asyncio.Lock()
        self.voice: VoiceChannel | EchoChannel | None = None
        self._saving: asyncio.Task[None] | None = None
        self._text = TextOutput(lambda: self.session, self.perform)
        self.control = CallControl(self)
        self.turn_trace = TurnTrace()
        self.replier = Replier(
            session=lambda: self.session,
            perform=self.perform,
            output=self._reply_output,
            agent=lambda s: ctx.dialogue.agent_for(s.line, s.config, s.session_id, s.context),
            end_call=self.control.end_after_reply,
            turn_trace=self.turn_trace,
        )

    @property
    def reading(self) -> bool:
        """The read loop goes on: the call is not closing and the caller keeps up."""
        return self.closing is None and not self.too_slow.is_set()

    async def writer(self) -> None:
        """Drain the outbox; a frame (or the close) not taken within the bound: too slow."""
        bound = self.ctx.settings.send_timeout_s
        while True:
            item = await self.outbox.get()
            # asyncio.timeout, not wait_for: this runs for every audio frame, and wait_for
            # (Python 3.11) wraps each send in a task of its own.
            try:
                if isinstance(item, Close):
                    async with asyncio.timeout(bound):
                        await self.ws.close(item.code, item.reason)
                    return
                for frame in self.wire.outbound(item):
                    async with asyncio.timeout(bound):
                        await self.ws.send_text(json.dumps(frame))
            except TimeoutError:
                self.too_slow.set()
                return

    def perform(self, actions: Sequence[Action]) -> None:
        if self.voice is None and self.session.voice and self.session.state == "ready":
            self.voice = self._new_voice()
        for action in actions:
            if isinstance(action, Hear):
                self._hear(action.audio)
            elif isinstance(action, Speak) and self.voice is not None:
                self.voice.speak(action)
            elif isinstance(action, CancelReply):
                self.stop_reply()
            elif isinstance(action, Respond):
                self.replier.respond(action)
            elif isinstance(action, Send):
                self._enqueue(action.frame)
            elif isinstance(action, Publish):
                if isinstance(action.payload, CallEnded):
                    self._barge_in()
                    self._reply_output().interrupt()  # the reply in progress is logged first
                self._publish(action)
            elif isinstance(action, Close) and self.closing is None:
                self.closing = action
                self._enqueue(action)
            for event in self.control.observe(action):
                self._publish(event)

    def _publish(self, action: Action) -> None:
        if not isinstance(action, Publish):
            return
        if isinstance(action.payload, TranscriptUser):  # a caller turn: a new trace
            heard = self.voice.detected_turn if isinstance(self.voice, VoiceChannel) else None
            if heard is not None and heard.item_id != action.payload.item_id:
                heard = None  # a typed turn in a voice call: no recogniser timings
            session = self.session
            self.turn_trace.begin(session.session_id, session.line.line_id, session.turns, heard)
        elif isinstance(action.payload, TurnMetrics):
            self.turn_trace.spoke(action.payload.stages_ms, action.payload.turn)
        with self.turn_trace.attached():  # the event carries the turn's trace context
            self.ctx.publish(self.session.session_id, self.session.line.line_id, action.payload)

    def _hear(self, audio: bytes) -> None:
        """Caller audio: to a human agent's bridge, and to the listener (never echoed back)."""
        bridge = self.control.bridge
        if bridge is not None:
            bridge.caller_audio(audio)
        if self.voice is not None and (bridge is None or isinstance(self.voice, VoiceChannel)):
            self.voice.hear(audio)

    def stop_reply(self) -> None:
        self._barge_in()
        self._reply_output().interrupt()

    def offer(self, frame: dict[str, Any]) -> bool:
        if self.closing is not None:
            return False
        try:
            self.outbox.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    def _reply_output(self) -> ReplyOutput:
        return self.voice if isinstance(self.voice, VoiceChannel) else self._text

    def _barge_in(self) -> None:
        """The caller cut in: stop generating and drop the reply's pending tool calls."""
        self.replier.cancel()
        self.session.drop_pending_tools()

    def _new_voice(self) -> VoiceChannel | EchoChannel:
        if self.ctx.settings.voice == "echo":
            return EchoChannel(
                session=lambda: self.session, perform=self.perform, send=self._enqueue
            )
        assert self.ctx.speech is not None and self.ctx.pool is not None
        return VoiceChannel(
            session=lambda: self.session,
            perform=self.perform,
            send=self._enqueue,
            models=self.ctx.speech,
            pool=self.ctx.pool,
            on_interrupt=self._barge_in,
            playout=self.playout,
        )

    async def hand_over(self, frame: dict[str, Any], *, settle_s: float) -> bool:
        """Move the live session to another gateway (drain): save it as dropped, so any gateway
        can resume it, then tell the client (``frame``) and close 1012. False when nothing was
        handed over (the call is no longer live, or the store did not take the checkpoint)."""
        await self.replier.settle(settle_s)  # a reply being written goes into the checkpoint
        if self.closing is not None or self.session.state != "ready":
            return False
        self.handing_over = True  # a frame read after the save would be lost on resume
        await self.stop_saving()
        if not await self.checkpoint(dropped=True):
            self.handing_over = False
            return False
        if self.closing is None:
            self.perform([Send(frame), Close(HANDOVER_CLOSE, DRAINING)])
        return True

    def checkpoint_soon(self) -> None:
        """Save the checkpoint in the background (latest state wins), never stalling reads.

        At most one write is in flight per connection; changes made meanwhile are written
        when it finishes, so a slow or absent Redis costs resumability, not the live call.
        """
        if self.handing_over or (self._saving is not None and not self._saving.done()):
            return
        if self.session.state == "ready" and self.session.changes != self.saved_changes:
            self._saving = asyncio.create_task(self._save_until_current())

    async def _save_until_current(self) -> None:
        while self.session.state == "ready" and self.session.changes != self.saved_changes:
            if self.dropped_saved:
                return
            before = self.session.changes
            await self.checkpoint()
            if self.saved_changes != self.session.changes and before == self.session.changes:
                return  # the store failed: try again with the next change

    async def stop_saving(self) -> None:
        """Stop a background save and wait for it, so no stale write lands after ours."""
        if self._saving is not None:
            self._saving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._saving
            self._saving = None

    async def checkpoint(self, *, dropped: bool = False) -> bool:
        """Write the checkpoint if it changed (always when ``dropped``); True when it is stored.

        One write at a time; once a dropped checkpoint is stored nothing is written again, since
        another gateway may have claimed it by then (a later write would undo the claim)."""
        async with self._store_lock:
            if self.dropped_saved:
                return True
            if self.session.state != "ready":
                return False
            if self.session.changes == self.saved_changes and not dropped:
                return True
            saved = await handlers.save_checkpoint(
                self.session,
                owner=self.owner,
                gateway_id=self.ctx.settings.gateway_id,
                store=self.ctx.sessions,
                dropped=dropped,
                resume_window_s=self.ctx.settings.resume_window_s,
            )
            if saved:
                self.saved_changes = self.session.changes
                self.dropped_saved = dropped
            return saved

    def _enqueue(self, item: dict[str, Any] | Close) -> None:
        """Queue a frame for the caller. A full outbox marks the caller too slow and drops the
        frame, never the actions after it: every event of the call is still published."""
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            self.too_slow.set()


async def hold_call(
    conn: CallConnection, read_loop: Callable[[CallConnection], Awaitable[str]]
) -> None:
    """Run an admitted connection until its socket closes, then settle the call."""
    ctx, session, owner = conn.ctx, conn.session, conn.owner
    conn.settled = asyncio.get_running_loop().create_future()
    ctx.held.add(conn.settled)
    ctx.calls[session.session_id] = conn.control
    ctx.active += 1
    ctx.per_owner[owner] = ctx.per_owner.get(owner, 0) + 1
    ACTIVE_SESSIONS.inc()
    writer = asyncio.create_task(conn.writer(), name=f"ws-writer:{session.session_id}")
    # The read loop runs in this task (its context carries the call id); a caller found too
    # slow by the writer or the outbox ends it wherever it waits.
    me = asyncio.current_task()
    assert me is not None
    cut_off = asyncio.create_task(_cut_off_when_too_slow(conn, me))
    reason = "client_disconnected"
    try:
        reason = await read_loop(conn)
    except asyncio.CancelledError:
        if not conn.too_slow.is_set() or not cut_off.done() or cut_off.cancelled():
            raise  # not ours: the server is shutting down
        reason = "client_too_slow"
    except WebSocketDisconnect:
        reason = "client_disconnected"
    finally:
        cut_off.cancel()
        if cut_off.done() and not cut_off.cancelled() and me.cancelling():
            me.uncancel()  # ours, delivered (or swallowed by a wait_for that had its frame)
        if conn.too_slow.is_set():
            reason = "client_too_slow"
            log.warning(
                "closing a client that does not read", extra={"call_id": conn.session.session_id}
            )
        ctx.active -= 1
        ctx.per_owner[owner] -= 1
        if not ctx.per_owner[owner]:
            del ctx.per_owner[owner]
        ACTIVE_SESSIONS.dec()
        conn.control.closed(reason)
        if ctx.calls.get(conn.session.session_id) is conn.control:
            del ctx.calls[conn.session.session_id]
        await conn.replier.close()
        if conn.voice is not None:
            await conn.voice.close()
        conn.turn_trace.end()
        try:
            await _after_close(conn, reason)
            await _finish_writer(conn, writer, slow=reason == "client_too_slow")
        finally:
            conn.settled.set_result(None)
            ctx.held.discard(conn.settled)


async def _cut_off_when_too_slow(conn: CallConnection, reader: asyncio.Task[Any]) -> None:
    """Wake the read loop of a caller found too slow, wherever it waits. (A ``wait_for`` whose
    frame arrived at the same time may swallow this: the loop then sees ``conn.reading``.)"""
    await conn.too_slow.wait()
    reader.cancel("client too slow")


async def _after_close(conn: CallConnection, reason: str) -> None:
    session, ctx = conn.session, conn.ctx
    await conn.stop_saving()
    resumable = reason in RESUMABLE_ENDS or conn.dropped_saved  # (a drain handed it over)
    if conn.resumable and session.state == "ready" and resumable:
        await conn.checkpoint(dropped=True)
        conn.perform(conn.control.status.disconnected())
        log.info("call dropped; resumable", extra={"call_id": session.session_id, "reason": reason})
        task = asyncio.create_task(
            _end_unless_resumed(ctx, session), name=f"end:{session.session_id}"
        )
        ctx.pending_ends.add(task)
        task.add_done_callback(ctx.pending_ends.discard)
        return
    ended = [a for a in session.on_disconnect(time.time(), reason) if isinstance(a, Publish)]
    conn.perform(ended)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ctx.sessions.delete(session.session_id), handlers.STORE_TIMEOUT_S)


async def _end_unless_resumed(ctx: GatewayContext, session: VoiceSession) -> None:
    try:
        ended = await handlers.end_if_not_resumed(
            session.session_id,
            store=ctx.sessions,
            window_s=ctx.settings.resume_window_s,
            gateway_id=ctx.settings.gateway_id,
            poll_s=RESUME_POLL_S,
        )
    except Exception:
        log.warning("could not settle a dropped call", extra={"call_id": session.session_id})
        return
    if ended is None:
        log.info("dropped call was resumed or ended", extra={"call_id": session.session_id})
        return
    log.info("dropped call not resumed; ending it", extra={"call_id": session.session_id})
    ctx.publish(session.session_id, session.line.line_id, ended)


async def _finish_writer(conn: CallConnection, writer: asyncio.Task[None], *, slow: bool) -> None:
    """Flush the last frames (bounded) and close; a client too slow to take them is dropped."""
    if not slow:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_FLUSH_S)
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await writer
    slow = slow or conn.too_slow.is_set()
    if slow and abort(conn.ws.scope):
        return  # no close frame: it would wait behind what the client does not read
    if conn.ws.client_state != WebSocketState.DISCONNECTED:
        code = 1008 if slow else 1000
        try:
            close = conn.ws.close(code, "client too slow" if slow else "closing")
            await asyncio.wait_for(close, conn.ctx.settings.send_timeout_s)
        except TimeoutError:
            abort(conn.ws.scope)  # the close frame itself is not taken
        except Exception:
            log.debug("close failed", exc_info=True)
