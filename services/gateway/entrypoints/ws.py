"""The Voice Agent API WebSocket: a thin asyncio layer around ``domain.session``.

One reader loop per socket feeds frames and timer ticks to the session core; one writer task
drains a bounded outbox to the client. A client too slow to read fills the outbox and is closed:
its frames are never allowed to grow the server's memory. Resumable state is checkpointed to the
session store as it changes; a dropped call waits ``RESUME_WINDOW_S`` for a resume (on any
gateway) before its ``call.ended`` is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

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
from services.gateway.domain.protocol import ProtocolError, parse_client_frame
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.entrypoints.context import CALL_EVENTS_TOPIC, GatewayContext
from services.gateway.entrypoints.control import CallControl
from services.gateway.entrypoints.echo import EchoChannel
from services.gateway.entrypoints.replies import Replier, ReplyOutput, TextOutput
from services.gateway.entrypoints.voice import VoiceChannel
from shared.auth import bearer_token, hash_key
from shared.events import CallEnded

log = logging.getLogger(__name__)

__all__ = ["CALL_EVENTS_TOPIC", "GatewayContext", "serve_voice_socket"]
ACTIVE_SESSIONS = Gauge("switchboard_active_sessions", "Voice sessions this gateway holds.")
# How long the writer may take to flush the last frames before the socket is closed anyway.
CLOSE_FLUSH_S = 2.0
# How long session.end waits for a reply still being written (a model's answer) before ending.
END_GRACE_S = 5.0
# Ends that leave the call resumable: the client may come back within the window.
RESUMABLE_ENDS = frozenset({"client_disconnected", "client_too_slow"})


class _SlowClientError(Exception):
    pass


class _Connection:
    def __init__(
        self, websocket: WebSocket, ctx: GatewayContext, session: VoiceSession, owner: str
    ) -> None:
        self.ws = websocket
        self.ctx = ctx
        self.session = session
        self.owner = owner
        self.outbox: asyncio.Queue[dict[str, Any] | Close] = asyncio.Queue(
            maxsize=ctx.settings.send_queue_size
        )
        self.closing: Close | None = None
        self.saved_changes = 0
        self.voice: VoiceChannel | EchoChannel | None = None
        self._saving: asyncio.Task[None] | None = None
        self._text = TextOutput(lambda: self.session, self.perform)
        self.control = CallControl(self)
        self.replier = Replier(
            session=lambda: self.session,
            perform=self.perform,
            output=self._reply_output,
            agent=lambda s: ctx.dialogue.agent_for(s.line, s.config, s.session_id, s.context),
        )

    async def writer(self) -> None:
        while True:
            item = await self.outbox.get()
            if isinstance(item, Close):
                await self.ws.close(item.code, item.reason)
                return
            await self.ws.send_text(json.dumps(item))

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
        if isinstance(action, Publish):
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
        )

    def checkpoint_soon(self) -> None:
        """Save the checkpoint in the background (latest state wins), never stalling reads.

        At most one write is in flight per connection; changes made meanwhile are written
        when it finishes, so a slow or absent Redis costs resumability, not the live call.
        """
        if self._saving is not None and not self._saving.done():
            return
        if self.session.state == "ready" and self.session.changes != self.saved_changes:
            self._saving = asyncio.create_task(self._save_until_current())

    async def _save_until_current(self) -> None:
        while self.session.state == "ready" and self.session.changes != self.saved_changes:
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

    async def checkpoint(self, *, dropped: bool = False) -> None:
        if self.session.state != "ready" or (
            self.session.changes == self.saved_changes and not dropped
        ):
            return
        if await handlers.save_checkpoint(
            self.session,
            owner=self.owner,
            gateway_id=self.ctx.settings.gateway_id,
            store=self.ctx.sessions,
            dropped=dropped,
            resume_window_s=self.ctx.settings.resume_window_s,
        ):
            self.saved_changes = self.session.changes

    def _enqueue(self, item: dict[str, Any] | Close) -> None:
        try:
            self.outbox.put_nowait(item)
        except asyncio.QueueFull:
            raise _SlowClientError from None


async def _authenticate(websocket: WebSocket, ctx: GatewayContext) -> tuple[str, int] | None:
    """The caller's owner id and session length bound, from a key or a single-use token."""
    key = bearer_token(websocket.headers.get("authorization"))
    if key is not None:
        if ctx.keyring.allows(key, "gateway"):
            return hash_key(key), ctx.settings.max_session_s
        return None
    token = websocket.query_params.get("token")
    if token and len(token) <= 200:
        try:
            grant = await asyncio.wait_for(ctx.tokens.redeem(token), handlers.STORE_TIMEOUT_S)
        except Exception:
            log.warning("token store unavailable")
            return None
        if grant is not None:
            return grant.owner, min(grant.max_session_s, ctx.settings.max_session_s)
    return None


async def serve_voice_socket(websocket: WebSocket, ctx: GatewayContext) -> None:
    """Run one Voice Agent API connection from upgrade to close."""
    await websocket.accept()
    identity = await _authenticate(websocket, ctx)
    if identity is None:
        await _refuse(websocket, "unauthorized", "a valid API key or token is required", 1008)
        return
    if ctx.active >= ctx.settings.max_sessions:
        await _refuse(websocket, "at_capacity", "this gateway is at capacity; retry", 1013)
        return
    owner, max_session_s = identity
    if ctx.per_owner.get(owner, 0) >= ctx.settings.max_sessions_per_key:
        await _refuse(websocket, "concurrency_exceeded", "too many sessions for this key", 1008)
        return
    session = VoiceSession(
        session_id=new_session_id(),
        line=ctx.lines[ctx.settings.default_line],
        lines=ctx.lines,
        started_at=time.time(),
        max_session_s=max_session_s,
        max_frame_bytes=ctx.settings.max_frame_bytes,
        voice=ctx.settings.voice != "off",
        attributes={"gateway_url": ctx.settings.public_url},
    )
    conn = _Connection(websocket, ctx, session, owner)
    ctx.calls[session.session_id] = conn.control
    ctx.active += 1
    ctx.per_owner[owner] = ctx.per_owner.get(owner, 0) + 1
    ACTIVE_SESSIONS.inc()
    writer = asyncio.create_task(conn.writer(), name=f"ws-writer:{session.session_id}")
    reason = "client_disconnected"
    try:
        reason = await _read_loop(conn)
    except _SlowClientError:
        reason = "client_too_slow"
        log.warning(
            "closing a client that does not read", extra={"call_id": conn.session.session_id}
        )
    except WebSocketDisconnect:
        reason = "client_disconnected"
    finally:
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
        await _after_close(conn, reason)
        await _finish_writer(conn, writer, slow=reason == "client_too_slow")


async def _after_close(conn: _Connection, reason: str) -> None:
    session, ctx = conn.session, conn.ctx
    await conn.stop_saving()
    if session.state == "ready" and reason in RESUMABLE_ENDS:
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
    with contextlib.suppress(_SlowClientError):
        conn.perform(ended)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ctx.sessions.delete(session.session_id), handlers.STORE_TIMEOUT_S)


async def _end_unless_resumed(ctx: GatewayContext, session: VoiceSession) -> None:
    try:
        ended = await handlers.end_if_not_resumed(
            session.session_id, store=ctx.sessions, window_s=ctx.settings.resume_window_s
        )
    except Exception:
        log.warning("could not settle a dropped call", extra={"call_id": session.session_id})
        return
    if ended is None:
        log.info("dropped call was resumed or ended", extra={"call_id": session.session_id})
        return
    log.info("dropped call not resumed; ending it", extra={"call_id": session.session_id})
    ctx.publish(session.session_id, session.line.line_id, ended)


async def _read_loop(conn: _Connection) -> str:
    settings = conn.ctx.settings
    ready_deadline = conn.session.started_at + settings.ready_timeout_s
    while conn.closing is None:
        session = conn.session
        end_deadline = session.started_at + session.max_session_s
        now = time.time()
        if now >= end_deadline:
            conn.perform(session.error("session_expired", "maximum session length reached"))
            conn.perform([*session.on_disconnect(now, "max_duration"), Close(1000, "expired")])
            return "max_duration"
        if session.state == "connecting":
            wait = max(0.0, ready_deadline - now)
        else:
            wait = min(settings.idle_timeout_s, end_deadline - now)
        try:
            message = await asyncio.wait_for(conn.ws.receive(), wait)
        except TimeoutError:
            now = time.time()
            if session.state == "connecting":
                conn.perform(session.on_ready_timeout(now))
            elif now < end_deadline:
                conn.perform(session.error("session_expired", "no input for too long; closing"))
                conn.perform([*session.on_disconnect(now, "idle_timeout"), Close(1000, "idle")])
                return "idle_timeout"
            conn.checkpoint_soon()
            continue
        if message["type"] == "websocket.disconnect":
            return "client_disconnected"
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        if session.state == "connecting" and await _maybe_resume(conn, raw):
            continue
        if _is_session_end(raw, settings.max_frame_bytes):
            # A chat client that says something and hangs up still gets its answer first.
            await conn.replier.settle(END_GRACE_S)
        conn.perform(session.on_frame(raw, time.time()))
        conn.checkpoint_soon()
    return "client_ended" if conn.closing.code == 1000 else conn.closing.reason


def _is_session_end(raw: str | bytes, max_bytes: int) -> bool:
    if len(raw) > 200 or b"session.end" not in (raw.encode() if isinstance(raw, str) else raw):
        return False
    try:
        return parse_client_frame(raw, max_bytes=max_bytes).type == "session.end"
    except ProtocolError:
        return False


async def _maybe_resume(conn: _Connection, raw: str | bytes) -> bool:
    """Handle a first-message ``session.resume``; False when the frame is something else."""
    try:
        event = parse_client_frame(raw, max_bytes=conn.ctx.settings.max_frame_bytes)
    except ProtocolError:
        return False
    if event.type != "session.resume":
        return False
    try:
        restored, actions = await handlers.resume_session(
            event.body,
            owner=conn.owner,
            gateway_id=conn.ctx.settings.gateway_id,
            store=conn.ctx.sessions,
            lines=conn.ctx.lines,
            max_frame_bytes=conn.ctx.settings.max_frame_bytes,
        )
    except Exception:
        log.warning("session store unavailable during resume")
        conn.perform(conn.session.error("internal_error", "cannot resume right now; retry"))
        conn.perform([Close(1011, "internal_error")])
        return True
    if restored is not None:
        restored.voice = conn.ctx.settings.voice != "off"
        conn.ctx.calls.pop(conn.session.session_id, None)
        conn.ctx.calls[restored.session_id] = conn.control
        conn.session = restored
        conn.saved_changes = restored.changes
    conn.perform(actions)
    if restored is not None:
        conn.perform(conn.control.status.resumed())
    return True


async def _finish_writer(conn: _Connection, writer: asyncio.Task[None], *, slow: bool) -> None:
    if slow:
        writer.cancel()
    else:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(writer), CLOSE_FLUSH_S)
        writer.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await writer
    if conn.ws.client_state != WebSocketState.DISCONNECTED:
        code = 1008 if slow else 1000
        with contextlib.suppress(Exception):
            await conn.ws.close(code, "client too slow" if slow else "closing")


async def _refuse(websocket: WebSocket, code: str, message: str, close_code: int) -> None:
    """Report an auth/capacity refusal in-band, then close (protocol doc)."""
    with contextlib.suppress(Exception):
        frame = {"type": "session.error", "code": code, "message": message}
        await websocket.send_text(json.dumps(frame))
        await websocket.close(close_code, code)
