"""Speak a reply: sentence-chunked synthesis, encoded and paced at real time.

The first sentence is synthesised and sent while the rest is still being synthesised, so the
caller hears audio after one sentence's synthesis time. Audio goes out no more than ``LEAD_MS``
ahead of real time, so what was *sent* is a good measure of what was *played* when the caller
barges in (Twilio marks refine this for phone calls).
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shared.audio.codecs import Pcm, StreamResampler, WireFormat

CHUNK_MS = 50
LEAD_MS = 100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


@dataclass
class Playback:
    """What one reply has sent, to tell how much of it the caller heard."""

    reply_id: str
    item_id: str
    text: str = ""  # what has been handed to synthesis so far
    started_at: float | None = None  # monotonic time of the first audio chunk
    sent_ms: int = 0
    sentences: list[tuple[str, int, int]] = field(default_factory=list)  # text, start, end ms

    def played_ms(self, now: float) -> int:
        if self.started_at is None:
            return 0
        return min(self.sent_ms, int((now - self.started_at) * 1000))

    def played_text(self, played_ms: int) -> str:
        """The words heard by ``played_ms``: whole sentences, then a share of the current one."""
        words: list[str] = []
        for sentence, start, end in self.sentences:
            if end <= played_ms:
                words.extend(sentence.split())
            elif start < played_ms:
                parts = sentence.split()
                words.extend(parts[: int(len(parts) * (played_ms - start) / (end - start))])
        return " ".join(words)


class Speaker:
    def __init__(
        self,
        *,
        synthesize: Callable[[str], Awaitable[Pcm]],
        tts_rate: int,
        wire: WireFormat,
        send: Callable[[dict[str, Any]], None],
        volume: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._synthesize = synthesize
        self._tts_rate = tts_rate
        self._wire = wire
        self._send = send
        self._gain = None if volume is None else volume / 100.0
        self._clock = clock

    async def play(
        self,
        playback: Playback,
        sentences: AsyncIterator[str],
        *,
        on_first_audio: Callable[[], None],
    ) -> None:
        """Synthesise and send sentences as they come, returning when the last has played out.

        The next sentence is fetched and synthesised while the current one is sent. Cancelling
        the task stops it at once (barge-in); ``playback`` says what was heard.
        """
        resampler = StreamResampler(self._tts_rate, self._wire.sample_rate)

        async def next_audio() -> tuple[str, Pcm] | None:
            sentence = await anext(sentences, None)
            return None if sentence is None else (sentence, await self._synthesize(sentence))

        upcoming: asyncio.Future[tuple[str, Pcm] | None] = asyncio.ensure_future(next_audio())
        try:
            while (item := await upcoming) is not None:
                upcoming = asyncio.ensure_future(next_audio())
                sentence, pcm = item
                playback.text = f"{playback.text} {sentence}".strip()
                await self._send_sentence(
                    playback, sentence, resampler.process(pcm), on_first_audio
                )
            tail = resampler.flush()
            if len(tail) and playback.started_at is not None:
                self._send_audio(playback, tail)
            if playback.started_at is not None:
                await self._sleep_until(playback.started_at + playback.sent_ms / 1000)
        finally:
            upcoming.cancel()

    async def _send_sentence(
        self, playback: Playback, sentence: str, audio: Pcm, on_first_audio: Callable[[], None]
    ) -> None:
        if self._gain is not None:
            audio = np.clip(audio.astype(np.float32) * self._gain, -32768, 32767).astype(np.int16)
        per_chunk = self._wire.sample_rate * CHUNK_MS // 1000
        start_ms = playback.sent_ms
        # Recorded before the first chunk goes out, so a barge-in mid-sentence hears its share.
        playback.sentences.append((sentence, start_ms, start_ms + self._duration_ms(audio)))
        for offset in range(0, len(audio), per_chunk):
            chunk = audio[offset : offset + per_chunk]
            if playback.started_at is None:
                playback.started_at = self._clock()
                on_first_audio()
            else:
                await self._sleep_until(playback.started_at + (playback.sent_ms - LEAD_MS) / 1000)
            self._send_audio(playback, chunk)
        self._send(
            {
                "type": "transcript.agent.delta",
                "delta": sentence if not start_ms else " " + sentence,
                "reply_id": playback.reply_id,
                "item_id": playback.item_id,
                "start_ms": start_ms,
                "end_ms": playback.sent_ms,
            }
        )

    def _send_audio(self, playback: Playback, chunk: Pcm) -> None:
        data = base64.b64encode(self._wire.encode(chunk)).decode()
        self._send({"type": "reply.audio", "data": data, "reply_id": playback.reply_id})
        playback.sent_ms += self._duration_ms(chunk)

    def _duration_ms(self, audio: Pcm) -> int:
        return len(audio) * 1000 // self._wire.sample_rate

    async def _sleep_until(self, deadline: float) -> None:
        delay = deadline - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
