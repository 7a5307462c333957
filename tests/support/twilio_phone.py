"""A simulated phone call as Twilio Media Streams delivers it, for testing ``/twilio/media``.

Written from Twilio's documentation only, not from the gateway (the wire formats are in
``twilio_protocol``, the playback and speech timing in ``twilio_playback``). The
call sends ``connected`` and ``start``, then one 160-byte media frame every 20 ms for the whole
call, paced against the clock so that frame k leaves at start + 20k ms however long each send
took (a late frame goes out at once). Frames carry the caller's queued speech, else mu-law
silence. The server's ``media`` plays in real time, ``mark`` is echoed when playback reaches
it, ``clear`` drops unplayed audio and echoes pending marks, as Twilio does.

Bounds, and what happens at each:
- ``call.record`` keeps ``max_frames`` (100k) frames and 30 min of played audio; past that
  frames still take effect and audio still plays, but they are only counted;
- playback buffer: ``playback_cap_s`` (120 s) of unplayed audio, excess dropped and counted
  (``playback.dropped_bytes``); pending marks: ``max_marks``, excess dropped and counted;
- queued caller speech: ``playback_cap_s`` of audio; ``speak`` refuses more (OverflowError);
- every send: ``SEND_TIMEOUT_S``; a send that cannot finish ends the call (code 1011);
- frames that are not JSON objects, malformed, or for another streamSid are ignored and
  counted in ``record.ignored_frames``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.twilio_playback import (
    CallerSpeech,
    CallRecord,
    EchoedMark,
    Frame,
    Playback,
    Played,
    Reached,
)
from tests.support.twilio_protocol import (
    BYTES_PER_S,
    FRAME_BYTES,
    ClearAudio,
    Ignored,
    PlaceMark,
    PlayAudio,
    mulaw_decode,
    mulaw_encode,
    read_server_message,
    recording,
    sign,
)

__all__ = [
    "CallEnded",
    "CallRecord",
    "EchoedMark",
    "Frame",
    "SimulatedTwilioCall",
    "mulaw_decode",
    "mulaw_encode",
    "recording",
    "sign",
]

FRAME_S = FRAME_BYTES / BYTES_PER_S
SEND_TIMEOUT_S = 5.0
DIGITS = frozenset("0123456789*#")


class CallEnded(RuntimeError):
    """The call's socket closed before the awaited thing happened."""


class SimulatedTwilioCall:
    """Twilio's side of one Media Streams socket. Use ``SimulatedTwilioCall.connect``."""

    def __init__(
        self,
        ws: ClientConnection,
        *,
        custom_parameters: dict[str, str],
        call_sid: str,
        account_sid: str,
        stream_sid: str,
        max_frames: int = 100_000,
        playback_cap_s: float = 120.0,
        max_marks: int = 10_000,
    ) -> None:
        self.ws = ws
        self.custom_parameters = custom_parameters
        self.call_sid, self.account_sid, self.stream_sid = call_sid, account_sid, stream_sid
        self.playback_cap_bytes = int(playback_cap_s * BYTES_PER_S)
        self.playback = Playback(cap_bytes=self.playback_cap_bytes, max_marks=max_marks)
        self.record = CallRecord(max_frames=max_frames)
        self.sent_media_frames = 0
        self.late_frames = 0  # media frames that left more than one frame period late
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed_by_server = False
        self._speech = CallerSpeech[asyncio.Future[None]](cap_bytes=self.playback_cap_bytes)
        self._sequence = 0
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Event()  # replaced after each set: wakes every waiter once
        self._playback_wake = asyncio.Event()
        self._echoes: deque[Reached] = deque()  # bounded by the playback's pending marks
        self._hanging_up = False
        self._we_close = False
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        custom_parameters: dict[str, str],
        call_sid: str | None = None,
        account_sid: str | None = None,
        stream_sid: str | None = None,
        auth_token: str | None = None,
        open_timeout_s: float = 5.0,
    ) -> AsyncIterator[Self]:
        """Open the socket, send connected+start, stream media until the block ends.

        With ``auth_token`` the handshake carries ``X-Twilio-Signature`` over ``url`` and no
        parameters (Twilio asks servers to validate it on Media Streams too). Leaving the block
        hangs up (stop, then close) unless the call already ended.
        """
        headers = {"X-Twilio-Signature": sign(url, {}, auth_token)} if auth_token else {}
        async with connect(
            url, additional_headers=headers, open_timeout=open_timeout_s, close_timeout=2
        ) as ws:
            call = cls(
                ws,
                custom_parameters=custom_parameters,
                call_sid=call_sid or "CA" + secrets.token_hex(16),
                account_sid=account_sid or "AC" + secrets.token_hex(16),
                stream_sid=stream_sid or "MZ" + secrets.token_hex(16),
            )
            await call._begin()
            try:
                yield call
            finally:
                with contextlib.suppress(ConnectionClosed, TimeoutError):
                    await call.hang_up()
                await call._stop_tasks()

    # -- what the caller does ---------------------------------------------------------------

    async def speak(self, mulaw: bytes) -> None:
        """Queue caller audio (8 kHz mu-law); returns once its last byte has been sent."""
        if self.closed.is_set():
            raise CallEnded("the call has ended")
        if not mulaw:
            return
        done = asyncio.get_running_loop().create_future()
        self._speech.queue(mulaw, done)  # OverflowError past the bound
        try:
            await done
        except asyncio.CancelledError:
            self._speech.withdraw(done)  # what was not sent yet is not said
            raise

    async def press(self, digit: str) -> None:
        """Send a DTMF key press."""
        if digit not in DIGITS:
            raise ValueError("not a DTMF digit")
        await self._send("dtmf", {"dtmf": {"track": "inbound_track", "digit": digit}})

    async def hang_up(self) -> None:
        """The caller hangs up: media stops, ``stop`` is sent, the socket closes."""
        if self.closed.is_set() or self._hanging_up:
            return
        self._hanging_up = self._we_close = True
        await self._stop_tasks("twilio-media")
        stop = {"stop": {"accountSid": self.account_sid, "callSid": self.call_sid}}
        try:
            await self._send("stop", stop)
        finally:
            await self.ws.close()  # bounded by the connection's close_timeout
            await asyncio.wait([self._tasks["twilio-receive"]], timeout=SEND_TIMEOUT_S)

    # -- what a test reads ------------------------------------------------------------------

    def received(self, event: str) -> list[dict[str, Any]]:
        """Every recorded message of this ``event``, in arrival order."""
        return self.record.received(event)

    def played_audio(self) -> bytes:
        """The mu-law audio that has played to the caller so far."""
        return self.record.played_audio()

    async def wait_for(self, condition: str | Callable[[], Any], timeout_s: float) -> Any:
        """Wait for a message of that event (returns the first) or a truthy ``condition()``.

        Raises TimeoutError at ``timeout_s``, and CallEnded as soon as the socket closes
        without the condition holding (nothing changes after that).
        """
        if isinstance(condition, str):
            event = condition

            def check() -> Any:
                found = self.received(event)
                return found[0] if found else None
        else:
            check = condition
        async with asyncio.timeout(timeout_s):
            while True:
                changed = self._changed
                if value := check():
                    return value
                if self.closed.is_set():
                    raise CallEnded("the call ended before the condition held")
                await changed.wait()

    # -- machinery --------------------------------------------------------------------------

    async def _begin(self) -> None:
        connected = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
        await self._send_json(connected)
        start = {
            "start": {
                "streamSid": self.stream_sid,
                "accountSid": self.account_sid,
                "callSid": self.call_sid,
                "tracks": ["inbound"],
                "customParameters": dict(self.custom_parameters),
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            }
        }
        await self._send("start", start)
        for name, work in (
            ("twilio-media", self._stream_media()),
            ("twilio-receive", self._receive()),
            ("twilio-playback", self._play()),
        ):
            self._tasks[name] = asyncio.create_task(work, name=name)

    async def _send(self, event: str, body: dict[str, Any]) -> None:
        async with self._send_lock:
            await self._send_locked(event, body)

    async def _send_locked(self, event: str, body: dict[str, Any]) -> None:
        # Under the send lock, so sequence numbers leave in the order they are given.
        self._sequence += 1
        message = {"event": event, "sequenceNumber": str(self._sequence), **body}
        message["streamSid"] = self.stream_sid
        await self._send_json(message)

    async def _send_json(self, message: dict[str, Any]) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await self.ws.send(json.dumps(message))
        except TimeoutError:
            # The server stopped reading: Twilio would drop the call; so do we.
            self._we_close = True
            await self.ws.close(code=1011, reason="send timed out")
            raise

    async def _stream_media(self) -> None:
        started = time.monotonic()
        chunk = 0
        while True:
            delay = started + chunk * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -FRAME_S:
                self.late_frames += 1
            payload, finished = self._speech.next_frame()
            chunk += 1
            media = {
                "track": "inbound",
                "chunk": str(chunk),
                "timestamp": str((chunk - 1) * FRAME_BYTES * 1000 // BYTES_PER_S),
                "payload": base64.b64encode(payload).decode(),
            }
            try:
                await self._send("media", {"media": media})
            except (ConnectionClosed, TimeoutError):
                _settle(finished, CallEnded("the call ended before this was sent"))
                return  # the receiver records how the call ended
            self.sent_media_frames += 1
            _settle(finished, None)

    async def _receive(self) -> None:
        try:
            async for raw in self.ws:
                await self._handle(raw, time.monotonic())
        except ConnectionClosed:
            pass
        finally:
            self.close_code, self.close_reason = self.ws.close_code, self.ws.close_reason or ""
            self.closed_by_server = not self._we_close
            _settle(self._speech.drain(), CallEnded("the call ended before this was sent"))
            self.closed.set()
            self._notify()

    async def _handle(self, raw: str | bytes, now: float) -> None:
        try:
            message, request = read_server_message(raw, self.stream_sid)
        except Ignored:
            self.record.ignored_frames += 1
            return
        self.record.frame(now, message)
        if isinstance(request, PlayAudio):
            await self._apply(self.playback.push_audio(request.audio, now))
        elif isinstance(request, PlaceMark):
            await self._apply(self.playback.push_mark(request.name, now))
        elif isinstance(request, ClearAudio):
            self.record.clears.append(now)
            await self._apply(self.playback.clear(now))
        self._playback_wake.set()
        self._notify()

    async def _play(self) -> None:
        """Moves playback along every 20 ms while audio is queued, and when each mark falls due."""
        while True:
            await self._apply(self.playback.advance(time.monotonic()))
            self._notify()
            self._playback_wake.clear()
            if self.playback.buffered_bytes == 0:
                await self._playback_wake.wait()
                continue
            delay = FRAME_S
            if (due := self.playback.next_mark_due()) is not None:
                delay = min(delay, max(0.0, due - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._playback_wake.wait()

    async def _apply(self, happened: list[Played | Reached]) -> None:
        """Record what played and echo the marks reached, in playback order.

        Two tasks apply playback results; both queue echoes here synchronously and whichever
        holds the send lock sends them all, so marks leave in the order they were reached.
        """
        for item in happened:
            if isinstance(item, Reached):
                self._echoes.append(item)
            else:
                self.record.play(item)
        async with self._send_lock:
            while self._echoes:
                reached = self._echoes.popleft()
                try:
                    await self._send_locked("mark", {"mark": {"name": reached.name}})
                except (ConnectionClosed, TimeoutError):
                    self._echoes.clear()
                    return
                mark = EchoedMark(reached.name, time.monotonic(), reached.by_clear)
                self.record.marks.append(mark)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _stop_tasks(self, *names: str) -> None:
        """Cancel the named tasks (all when none is named) and wait until they have ended."""
        tasks = [self._tasks[name] for name in names] if names else list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


def _settle(utterances: list[asyncio.Future[None]], outcome: Exception | None) -> None:
    """Tell each waiting ``speak`` that its audio went out (None) or never will."""
    for done in utterances:
        if done.done():
            continue
        if outcome is None:
            done.set_result(None)
        else:
            done.set_exception(outcome)
