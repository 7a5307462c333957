"""``/twilio/media``: a phone call over Twilio Media Streams, into the same voice pipeline.

Twilio opens the socket after ``/twilio/voice`` answered with ``<Connect><Stream>``. Its ``start``
frame must carry the per-call secret of that answer (``customParameters.secret``), bound to the
same call SID; otherwise the socket is closed (1008) before anything else happens. Then the call
is a ``VoiceSession`` on channel ``twilio`` with mu-law 8 kHz in and out: ``media`` goes to the
listener, ``dtmf`` becomes ``dtmf.received``, echoed ``mark`` frames say how much of each reply
the caller heard (``MarkPlayout``), and ``stop`` ends the call. A phone call that drops is over
(Twilio does not reconnect): no resume window. Malformed frames are counted and skipped; a
stream of nothing but bad frames, or one that goes silent (Twilio sends audio every 20 ms), is
closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections import OrderedDict

from fastapi import WebSocket
from prometheus_client import Counter

from services.gateway import handlers
from services.gateway.domain.actions import Close
from services.gateway.domain.config import DEFAULT_CONFIG
from services.gateway.domain.protocol import ProtocolError
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.domain.twilio import (
    SECRET_PARAMETER,
    Dtmf,
    Mark,
    Media,
    PhoneCallGrant,
    Start,
    Stop,
    TwilioEvent,
    TwilioFrameError,
    TwilioWire,
    parse_frame,
    parse_mark,
)
from services.gateway.entrypoints.connection import CallConnection, hold_call
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.entrypoints.control import PhoneLeg
from shared.telemetry.logs import call_context

log = logging.getLogger(__name__)

BAD_FRAMES = Counter(
    "switchboard_twilio_bad_frames_total", "Frames on /twilio/media that were not Twilio's."
)
# ``connected`` and ``start`` arrive at once; a socket that has not started by then is closed.
START_TIMEOUT_S = 10.0
# Frames read before ``start`` (``connected`` and maybe early media); more is not Twilio.
MAX_FRAMES_BEFORE_START = 10
# Twilio sends a media frame every 20 ms for the whole call: this long without one is a dead
# stream, ended as ``stream_stalled``.
STALL_S = 15.0
# Malformed frames in a row before the stream is closed (1007).
MAX_BAD_FRAMES = 50
# Replies whose played position is remembered; the oldest are forgotten first.
MAX_TRACKED_REPLIES = 64
# After a reply's last audio was sent, how long to wait for Twilio to echo its last mark (the
# audio still in Twilio's buffer and the network): past it the reply counts as played anyway.
PLAYOUT_GRACE_S = 3.0


class MarkPlayout:
    """What the caller heard, from the marks Twilio echoes (``voice.Playout``)."""

    def __init__(self, grace_s: float = PLAYOUT_GRACE_S) -> None:
        self.grace_s = grace_s
        self._heard: OrderedDict[str, int] = OrderedDict()
        self._waiters: dict[str, tuple[int, asyncio.Event]] = {}

    def on_mark(self, name: str) -> None:
        parsed = parse_mark(name)
        if parsed is None:
            return
        reply_id, ms = parsed
        self._heard[reply_id] = max(ms, self._heard.get(reply_id, 0))
        self._heard.move_to_end(reply_id)
        while len(self._heard) > MAX_TRACKED_REPLIES:
            self._heard.popitem(last=False)
        waiter = self._waiters.get(reply_id)
        if waiter is not None and ms >= waiter[0]:
            waiter[1].set()

    def heard_ms(self, reply_id: str) -> int:
        return self._heard.get(reply_id, 0)

    async def played(self, reply_id: str, sent_ms: int) -> None:
        if self.heard_ms(reply_id) >= sent_ms:
            return
        event = asyncio.Event()
        self._waiters[reply_id] = (sent_ms, event)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), self.grace_s)
        finally:
            self._waiters.pop(reply_id, None)


async def serve_twilio_media(websocket: WebSocket, ctx: GatewayContext) -> None:
    """Run one phone call's media stream from upgrade to close."""
    await websocket.accept()
    start = await _await_start(websocket, ctx)
    grant = await _redeem(start, ctx) if start is not None else None
    if start is None or grant is None or grant.line_id not in ctx.lines:
        log.warning("twilio stream refused: no valid per-call secret")
        with contextlib.suppress(Exception):
            await websocket.close(1008, "unauthorized")
        return
    if ctx.active >= ctx.settings.max_sessions:
        with contextlib.suppress(Exception):
            await websocket.close(1013, "at_capacity")
        return
    if ctx.handing_over:  # answered before the drain, too late to start: Twilio ends the call
        with contextlib.suppress(Exception):
            await websocket.close(1013, "gateway_draining")
        return
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["input"]["format"]["encoding"] = "audio/pcmu"
    config["output"]["format"]["encoding"] = "audio/pcmu"
    session = VoiceSession(
        session_id=new_session_id(),
        line=ctx.lines[grant.line_id],
        lines=ctx.lines,
        started_at=time.time(),
        max_session_s=ctx.settings.max_session_s,
        max_frame_bytes=ctx.settings.max_frame_bytes,
        channel="twilio",
        config=config,
        voice=ctx.settings.voice != "off",
        attributes={"gateway_url": ctx.settings.public_url, "twilio_call_sid": start.call_sid},
        caller=grant.caller,
    )
    owner = f"twilio:{start.account_sid}"
    conn = CallConnection(
        websocket, ctx, session, owner, wire=TwilioWire(start.stream_sid), resumable=False
    )
    conn.playout = playout = MarkPlayout()
    conn.control.phone = PhoneLeg(start.account_sid, start.call_sid, ctx.transfer)
    log.info("phone call streaming", extra={"call_id": session.session_id})

    async def read_loop(conn: CallConnection) -> str:
        return await _read_loop(conn, playout)

    with call_context(session.session_id):  # every log line of the call carries its id
        await hold_call(conn, read_loop)


async def _await_start(websocket: WebSocket, ctx: GatewayContext) -> Start | None:
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            for _ in range(MAX_FRAMES_BEFORE_START):
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return None
                raw = message.get("text") or message.get("bytes") or b""
                with contextlib.suppress(TwilioFrameError):
                    event = parse_frame(raw, max_bytes=ctx.settings.max_frame_bytes)
                    if isinstance(event, Start):
                        return event
    except TimeoutError:
        return None
    return None


async def _redeem(start: Start, ctx: GatewayContext) -> PhoneCallGrant | None:
    secret = start.parameters.get(SECRET_PARAMETER, "")
    if not secret or len(secret) > 200:
        return None
    try:
        grant = await asyncio.wait_for(ctx.phone_grants.redeem(secret), handlers.STORE_TIMEOUT_S)
    except Exception:
        log.warning("phone grant store unavailable")
        return None
    if grant is None or grant.call_sid != start.call_sid:
        return None
    return grant


async def _read_loop(conn: CallConnection, playout: MarkPlayout) -> str:
    session = conn.session
    conn.perform(session.answer(time.time()))
    bad_in_a_row = 0
    while conn.reading:
        now = time.time()
        end_deadline = session.started_at + session.max_session_s
        if now >= end_deadline:
            return _end(conn, "max_duration", Close(1000, "expired"))
        try:
            message = await asyncio.wait_for(conn.ws.receive(), min(STALL_S, end_deadline - now))
        except TimeoutError:
            if time.time() < end_deadline:
                log.warning("twilio stream stalled", extra={"call_id": session.session_id})
                return _end(conn, "stream_stalled", Close(1000, "stalled"))
            continue
        if message["type"] == "websocket.disconnect":
            return "transferred" if conn.control.transferred else "stream_lost"
        raw = message.get("text") or message.get("bytes") or b""
        try:
            event = parse_frame(raw, max_bytes=conn.ctx.settings.max_frame_bytes)
        except TwilioFrameError as exc:
            BAD_FRAMES.inc()
            bad_in_a_row += 1
            log.info("skipping a malformed twilio frame: %s", exc)
            if bad_in_a_row >= MAX_BAD_FRAMES:
                return _end(conn, "protocol_error", Close(1007, "malformed frames"))
            continue
        bad_in_a_row = 0
        if isinstance(event, Stop):
            reason = "transferred" if conn.control.transferred else "caller_hung_up"
            return _end(conn, reason, Close(1000, "stopped"))
        _dispatch(conn, playout, event)
    if conn.closing is None:
        return "client_too_slow"
    return "hung_up" if conn.closing.code == 1000 else conn.closing.reason


def _end(conn: CallConnection, reason: str, close: Close) -> str:
    """The call ends for ``reason`` (``call.ended``) and the socket closes with ``close``."""
    conn.perform([*conn.session.on_disconnect(time.time(), reason), close])
    return reason


def _dispatch(conn: CallConnection, playout: MarkPlayout, event: TwilioEvent) -> None:
    session = conn.session
    if isinstance(event, Media):
        try:
            conn.perform(session.on_audio(event.payload, time.time()))
        except ProtocolError:
            BAD_FRAMES.inc()  # audio faster than real time: dropped, the call goes on
    elif isinstance(event, Mark):
        playout.on_mark(event.name)
    elif isinstance(event, Dtmf):
        conn.perform(session.on_dtmf(event.digit))
