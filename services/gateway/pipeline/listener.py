"""Listen to the caller: decode, resample to 16 kHz, detect speech and turns, transcribe.

Runs as one task per session over a bounded queue of audio chunks. Recognition runs on the
inference pool in tasks of its own, so voice activity keeps being tracked while a transcript is
computed. Whisper is not a streaming recogniser: live deltas re-run the fast model on the
growing segment every ``PARTIAL_EVERY_MS`` of new speech (skipped while one is still running),
and the accurate model transcribes the whole segment at the end of the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from services.gateway.domain.turn_detection import FRAME_MS, TurnDetector, looks_complete
from services.gateway.pipeline.inference import Audio
from shared.audio.codecs import StreamResampler, WireFormat

log = logging.getLogger(__name__)

RATE = 16_000
FRAME = RATE * FRAME_MS // 1000  # 512 samples
PRE_ROLL_MS = 288  # audio kept from before the onset: Whisper misses a clipped first word
PARTIAL_EVERY_MS = 480
MAX_SEGMENT_MS = 28_000  # Whisper's window is 30 s: a longer turn is cut here
# After this much silence the final transcript is started speculatively: if the caller stays
# silent until the turn ends, it is ready (or nearly) when the turn ends, saving the STT time.
SPECULATE_AFTER_MS = 320
QUEUE_CHUNKS = 400  # about 20 s of 50 ms chunks; past it new audio is dropped (and counted)


@dataclass(frozen=True)
class SpeechStarted:
    item_id: str
    at_ms: int


@dataclass(frozen=True)
class Partial:
    item_id: str
    text: str
    speech_ms: int


@dataclass(frozen=True)
class SpeechStopped:
    item_id: str
    at_ms: int


@dataclass(frozen=True)
class TurnEnded:
    item_id: str
    text: str
    started_ms: int
    ended_ms: int
    stt_ms: float
    end_of_turn_ms: int  # silence waited before deciding the turn was over
    speech_end_at: float  # monotonic time of the last voiced frame


ListenerEvent = SpeechStarted | Partial | SpeechStopped | TurnEnded


class Listener:
    def __init__(
        self,
        *,
        wire: WireFormat,
        detector: TurnDetector,
        vad: Callable[[Audio], Awaitable[list[float]]],
        transcribe_partial: Callable[[Audio], Awaitable[str]],
        transcribe_final: Callable[[Audio], Awaitable[str]],
        emit: Callable[[ListenerEvent], Awaitable[None]],
    ) -> None:
        self._wire = wire
        self._resampler = StreamResampler(wire.sample_rate, RATE)
        self.detector = detector
        self._vad = vad
        self._partial = transcribe_partial
        self._final = transcribe_final
        self._emit = emit
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
        self._pending = np.zeros(0, dtype=np.float32)
        self._pre_roll: deque[Audio] = deque(maxlen=PRE_ROLL_MS // FRAME_MS)
        self._segment: list[Audio] = []
        self._item_id = ""
        self._since_partial_ms = 0
        self._partial_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_voiced_at = 0.0
        self._speculation: asyncio.Task[str] | None = None
        self.dropped_chunks = 0

    def push(self, audio: bytes) -> None:
        """Queue caller audio; never blocks. At the bound the chunk is dropped and counted."""
        try:
            self._queue.put_nowait(audio)
        except asyncio.QueueFull:
            self.dropped_chunks += 1

    async def run(self) -> None:
        try:
            while True:
                await self._consume(await self._queue.get())
        finally:
            for task in list(self._tasks):
                task.cancel()
            self._drop_speculation()

    async def _consume(self, raw: bytes) -> None:
        pcm = self._resampler.process(self._wire.decode(raw))
        self._pending = np.concatenate([self._pending, pcm.astype(np.float32) / 32768.0])
        usable = len(self._pending) - len(self._pending) % FRAME
        if not usable:
            return
        frames, self._pending = self._pending[:usable], self._pending[usable:]
        probabilities = await self._vad(frames)
        for index, probability in enumerate(probabilities):
            frame = frames[index * FRAME : (index + 1) * FRAME]
            if probability >= self.detector.threshold:
                self._last_voiced_at = time.monotonic()
            await self._on_frame(frame, self.detector.update(probability))

    async def _on_frame(self, frame: Audio, signal: str | None) -> None:
        if signal == "speech_started":
            self._item_id = "item_" + uuid.uuid4().hex[:16]
            self._segment = [*self._pre_roll, frame]
            self._since_partial_ms = 0
            await self._emit(SpeechStarted(self._item_id, self.detector.turn_started_ms))
        elif self.detector.speaking:
            self._segment.append(frame)
            self._speculate()
            self._since_partial_ms += FRAME_MS
            if self._since_partial_ms >= PARTIAL_EVERY_MS:
                self._maybe_partial()
            if len(self._segment) * FRAME_MS >= MAX_SEGMENT_MS:
                self.detector.end_now()
                await self._finish_turn()
        elif signal == "turn_ended":
            self._segment.append(frame)
            await self._finish_turn()
        self._pre_roll.append(frame)

    def _speculate(self) -> None:
        silence = self.detector.silence_ms
        if silence == 0:
            self._drop_speculation()  # the caller spoke again: the segment changed
        elif silence >= SPECULATE_AFTER_MS and self._speculation is None:
            speculation = asyncio.ensure_future(self._final(np.concatenate(self._segment)))
            speculation.add_done_callback(self._speculated)
            self._speculation = speculation

    def _speculated(self, speculation: asyncio.Task[str]) -> None:
        """The whole segment's transcript is the best evidence that the caller has finished."""
        if speculation is self._speculation and not speculation.cancelled():
            if speculation.exception() is None and self.detector.speaking:
                self.detector.looks_complete = looks_complete(speculation.result())

    def _drop_speculation(self) -> None:
        if self._speculation is not None:
            self._speculation.cancel()
            self._speculation = None

    def _maybe_partial(self) -> None:
        if self._partial_task is not None and not self._partial_task.done():
            return  # one recognition in flight per session: the pool's queue stays bounded
        self._since_partial_ms = 0
        audio, item_id, speech_ms = (
            np.concatenate(self._segment),
            self._item_id,
            self.detector.speech_ms,
        )
        self._partial_task = self._spawn(self._run_partial(audio, item_id, speech_ms))

    async def _run_partial(self, audio: Audio, item_id: str, speech_ms: int) -> None:
        text = await self._partial(audio)
        if item_id != self._item_id or not self.detector.speaking:
            return  # the turn ended meanwhile: the final transcript supersedes this one
        self.detector.looks_complete = looks_complete(text)
        if text:
            await self._emit(Partial(item_id, text, speech_ms))

    async def _finish_turn(self) -> None:
        audio = np.concatenate(self._segment) if self._segment else np.zeros(0, np.float32)
        started = self.detector.turn_started_ms
        ended = self.detector.position_ms - self.detector.silence_ms
        if self._partial_task is not None:
            self._partial_task.cancel()
        await self._emit(SpeechStopped(self._item_id, ended))
        waited = max(0, int((time.monotonic() - self._last_voiced_at) * 1000))
        speculation, self._speculation = self._speculation, None
        self._spawn(
            self._run_final(
                TurnEnded(self._item_id, "", started, ended, 0.0, waited, self._last_voiced_at),
                audio,
                speculation,
            )
        )
        self._segment = []

    async def _run_final(
        self, turn: TurnEnded, audio: Audio, speculation: asyncio.Task[str] | None
    ) -> None:
        began = time.monotonic()
        # Only trailing silence was added since the speculative run began: its text stands.
        text = await speculation if speculation is not None else await self._final(audio)
        stt_ms = (time.monotonic() - began) * 1000
        await self._emit(dataclasses.replace(turn, text=text, stt_ms=stt_ms))

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        with contextlib.suppress(asyncio.CancelledError):
            if task.exception() is not None:
                log.warning("speech recognition failed", exc_info=task.exception())
