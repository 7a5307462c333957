"""``/v1/bridge``: a human agent's audio, both ways, into a call on hold (docs/handoff.md, 3).

The agent desk opens the socket with a single-use bridge token. The call must be live on this
gateway and on hold. Then the caller's audio goes to the agent as binary PCM16 LE 24 kHz frames
(converted from the session's input encoding), and the agent's binary frames go to the caller
as ``reply.audio`` in the session's output encoding. Both directions are bounded: an agent who
stops reading is dropped (1008), a frame over 64 KiB closes the bridge (1009), and audio for a
caller who is behind is dropped. ``bridge.end`` from the agent ends the call; the caller
hanging up sends ``bridge.ended``. A bridge that drops leaves the call on hold for another try.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
import uuid
from typing import Literal

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from services.gateway import handlers
from services.gateway.domain.actions import Publish, Send
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.entrypoints.control import CallControl
from shared.audio.codecs import WIRE_FORMATS, StreamResampler, bytes_to_pcm16, pcm16_to_bytes
from shared.bridge_tokens import BridgeGrant
from shared.events import HandoffCompleted, HandoffFailed

log = logging.getLogger(__name__)

BRIDGE_RATE = 24_000
MAX_FRAME_BYTES = 64 * 1024
# Caller audio frames waiting for a slow agent socket (about 5 s of 50 ms chunks); an agent this
# far behind is dropped rather than buffered.
MAX_QUEUED_FRAMES = 100
# Largest text frame read from the agent (``bridge.end``); bigger ones are ignored.
MAX_TEXT_BYTES = 4096
# How long the last frames (``bridge.ended``) and the close may take on a stuck agent socket.
CLOSE_TIMEOUT_S = 2.0

Outcome = Literal["agent_ended", "caller_left", "lost"]


class Bridge:
    """One agent socket bridged into one call."""

    def __init__(self, websocket: WebSocket, call: CallControl, grant: BridgeGrant) -> None:
        self.ws = websocket
        self.call = call
        self.grant = grant
        config = call.conn.session.config
        self._in = WIRE_FORMATS[config["input"]["format"]["encoding"]]
        self._out = WIRE_FORMATS[config["output"]["format"]["encoding"]]
        self._from_caller = StreamResampler(self._in.sample_rate, BRIDGE_RATE)
        self._to_caller = StreamResampler(BRIDGE_RATE, self._out.sample_rate)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=MAX_QUEUED_FRAMES)
        self._done = asyncio.Event()
        self.outcome: Outcome = "lost"
        self._close: tuple[int, str] = (1000, "bridge closed")
        self._caller_reason = ""
        self.reply_id = "reply_human_" + uuid.uuid4().hex[:12]
        self.dropped_to_caller = 0

    # -- the call's side (called by the connection) ----------------------------------------------

    def caller_audio(self, raw: bytes) -> None:
        pcm = self._from_caller.process(self._in.decode(raw))
        data = pcm16_to_bytes(pcm)
        for offset in range(0, len(data), MAX_FRAME_BYTES):
            try:
                self._queue.put_nowait(data[offset : offset + MAX_FRAME_BYTES])
            except asyncio.QueueFull:
                self._finish("lost", 1008, "agent too slow")
                return

    def caller_left(self, reason: str) -> None:
        self._caller_reason = reason
        self._finish("caller_left", 1000, "caller left")

    # -- the agent's side ----------------------------------------------------------------------

    async def run(self) -> Outcome:
        tasks = [
            asyncio.create_task(self._read(), name="bridge-read"),
            asyncio.create_task(self._write(), name="bridge-write"),
        ]
        try:
            await self._done.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._close_socket()
        return self.outcome

    def _finish(self, outcome: Outcome, code: int, reason: str) -> None:
        if not self._done.is_set():
            self.outcome, self._close = outcome, (code, reason)
            self._done.set()

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is not None:
                    if len(data) > MAX_FRAME_BYTES:
                        self._finish("lost", 1009, "frame too big")
                        return
                    self._agent_audio(data)
                elif self._is_end(message.get("text") or ""):
                    self._finish("agent_ended", 1000, "bridge ended")
                    return
        except Exception:
            log.info("bridge socket failed", extra={"call_id": self.grant.call_id})
        self._finish("lost", 1000, "bridge lost")

    async def _write(self) -> None:
        try:
            while True:
                await self.ws.send_bytes(await self._queue.get())
        except Exception:
            self._finish("lost", 1011, "send failed")

    def _agent_audio(self, data: bytes) -> None:
        pcm = self._to_caller.process(bytes_to_pcm16(data))
        if not len(pcm):
            return
        encoded = base64.b64encode(self._out.encode(pcm)).decode()
        frame = {"type": "reply.audio", "data": encoded, "reply_id": self.reply_id}
        if not self.call.conn.offer(frame):
            self.dropped_to_caller += 1  # the caller is behind: audio is dropped, not queued

    @staticmethod
    def _is_end(text: str) -> bool:
        if len(text) > MAX_TEXT_BYTES:
            return False
        with contextlib.suppress(ValueError):
            frame = json.loads(text)
            return isinstance(frame, dict) and frame.get("type") == "bridge.end"
        return False

    async def _close_socket(self) -> None:
        if self.ws.client_state == WebSocketState.DISCONNECTED:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                if self.outcome == "caller_left":
                    frame = {"type": "bridge.ended", "reason": self._caller_reason}
                    await self.ws.send_text(json.dumps(frame))
                await self.ws.close(*self._close)


async def serve_bridge_socket(websocket: WebSocket, ctx: GatewayContext) -> None:
    """Run one agent's bridge from upgrade to close."""
    await websocket.accept()
    grant = await _redeem(websocket, ctx)
    if grant is None:
        await _refuse(websocket, "unauthorized")
        return
    call = ctx.calls.get(grant.call_id)
    if call is None or call.status.hold != "on_hold" or call.bridge is not None:
        await _refuse(websocket, "call_not_here")
        return
    bridge = Bridge(websocket, call, grant)
    ready = {"type": "bridge.ready", "call_id": grant.call_id}
    try:
        await websocket.send_text(json.dumps({**ready, "sample_rate": 24_000, "encoding": "pcm16"}))
    except Exception:
        return
    _attach(call, bridge)
    outcome = await bridge.run()
    _detach(call, bridge, outcome)


async def _redeem(websocket: WebSocket, ctx: GatewayContext) -> BridgeGrant | None:
    token = websocket.query_params.get("token") or ""
    if ctx.bridge_tokens is None or not token or len(token) > 200:
        return None
    try:
        return await asyncio.wait_for(ctx.bridge_tokens.redeem(token), handlers.STORE_TIMEOUT_S)
    except Exception:
        log.warning("bridge token store unavailable")
        return None


def _attach(call: CallControl, bridge: Bridge) -> None:
    conn, grant = call.conn, bridge.grant
    call.bridge = bridge
    item_id = "item_" + uuid.uuid4().hex[:16]
    conn.offer({"type": "reply.started", "reply_id": bridge.reply_id, "item_id": item_id})
    target = f"desk:{grant.agent_id}"
    conn.perform([Publish(HandoffCompleted(agent_id=grant.agent_id, target=target))])
    conn.perform(call.status.set_hold("with_human"))
    log.info("bridge opened", extra={"call_id": grant.call_id, "agent_id": grant.agent_id})


def _detach(call: CallControl, bridge: Bridge, outcome: Outcome) -> None:
    conn = call.conn
    if call.bridge is bridge:
        call.bridge = None
    log.info("bridge closed", extra={"call_id": bridge.grant.call_id, "outcome": outcome})
    if outcome == "caller_left" or conn.session.state != "ready":
        return
    done = {"type": "reply.done", "status": "completed", "reply_id": bridge.reply_id}
    with contextlib.suppress(Exception):
        conn.perform([Send(done)])
        if outcome == "agent_ended":
            conn.perform(conn.session.hang_up(time.time(), "agent_ended"))
        else:
            conn.perform([Publish(HandoffFailed(reason="bridge_lost"))])
            conn.perform(call.status.set_hold("on_hold"))


async def _refuse(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps({"type": "bridge.error", "code": reason}))
        await websocket.close(1008, reason)
