"""The Voice Agent API WebSocket: a thin asyncio layer around ``domain.session``.

One reader loop per socket feeds frames and timer ticks to the session core; one writer task
drains a bounded outbox to the client (``connection.CallConnection``). Resumable state is
checkpointed to the session store as it changes; a dropped call waits ``RESUME_WINDOW_S`` for a
resume (on any gateway) before its ``call.ended`` is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import WebSocket

from services.gateway import handlers
from services.gateway.domain.actions import Close
from services.gateway.domain.drain import REFUSE_CLOSE, refusal_frame
from services.gateway.domain.protocol import ProtocolError, parse_client_frame
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.entrypoints.connection import CallConnection, hold_call
from services.gateway.entrypoints.context import CALL_EVENTS_TOPIC, GatewayContext
from shared.auth import bearer_token, hash_key
from shared.telemetry.logs import CALL_ID, call_context

log = logging.getLogger(__name__)

__all__ = ["CALL_EVENTS_TOPIC", "GatewayContext", "serve_voice_socket"]
# How long session.end waits for a reply still being written (a model's answer) before ending.
END_GRACE_S = 5.0


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
    if ctx.draining:
        # Before authenticating: a single-use token must stay usable on another gateway. A
        # session.resume is refused too, so the client resumes where the session can live on.
        await _send_refusal(websocket, refusal_frame(), REFUSE_CLOSE)
        return
    identity = await _authenticate(websocket, ctx)
    if identity is None:
        await _refuse(websocket, "unauthorized", "a valid API key or token is required", 1008)
        return
    if ctx.active >= ctx.settings.max_sessions:
        await _refuse(websocket, "at_capacity", "this gateway is at capacity; retry", 1013)
        return
    if ctx.draining:  # the drain began while this socket authenticated
        await _send_refusal(websocket, refusal_frame(), REFUSE_CLOSE)
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
    with call_context(session.session_id):  # every log line of the call carries its id
        await hold_call(CallConnection(websocket, ctx, session, owner), _read_loop)


async def _read_loop(conn: CallConnection) -> str:
    settings = conn.ctx.settings
    ready_deadline = conn.session.started_at + settings.ready_timeout_s
    while conn.reading:
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
        if conn.handing_over:
            continue  # the checkpoint is being saved for another gateway: nothing more goes in
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
    if conn.closing is None:
        return "client_too_slow"
    return "client_ended" if conn.closing.code == 1000 else conn.closing.reason


def _is_session_end(raw: str | bytes, max_bytes: int) -> bool:
    if len(raw) > 200 or b"session.end" not in (raw.encode() if isinstance(raw, str) else raw):
        return False
    try:
        return parse_client_frame(raw, max_bytes=max_bytes).type == "session.end"
    except ProtocolError:
        return False


async def _maybe_resume(conn: CallConnection, raw: str | bytes) -> bool:
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
        CALL_ID.set(restored.session_id)  # the resumed call's id from here on (reset at close)
    conn.perform(actions)
    if restored is not None:
        conn.perform(conn.control.status.resumed())
    return True


async def _refuse(websocket: WebSocket, code: str, message: str, close_code: int) -> None:
    """Report an auth/capacity refusal in-band, then close (protocol doc)."""
    frame = {"type": "session.error", "code": code, "message": message}
    await _send_refusal(websocket, frame, close_code)


async def _send_refusal(websocket: WebSocket, frame: dict[str, Any], close_code: int) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps(frame))
        await websocket.close(close_code, frame["code"])
