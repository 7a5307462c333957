"""The speaker's record of what played, which barge-in trims the agent transcript to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from services.gateway.pipeline.speaker import Playback, Speaker, split_sentences
from shared.audio.codecs import WIRE_FORMATS, Pcm

RATE = 8_000


def tone(seconds: float) -> Pcm:
    return np.full(int(RATE * seconds), 1000, dtype=np.int16)


async def start_speaking(
    text: str, seconds_per_sentence: float
) -> tuple[Playback, asyncio.Task[None], list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []
    first_audio = asyncio.Event()

    async def synthesize(_: str) -> Pcm:
        return tone(seconds_per_sentence)

    def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "reply.audio":
            first_audio.set()

    speaker = Speaker(
        synthesize=synthesize, tts_rate=RATE, wire=WIRE_FORMATS["audio/pcmu"], send=send
    )
    playback = Playback("reply_1", "item_1")

    async def sentences() -> AsyncIterator[str]:
        for sentence in split_sentences(text):
            yield sentence

    task = asyncio.create_task(speaker.play(playback, sentences(), on_first_audio=lambda: None))
    await asyncio.wait_for(first_audio.wait(), timeout=5)
    return playback, task, sent


async def test_a_barge_in_during_the_first_sentence_keeps_the_words_heard_so_far() -> None:
    text = "one two three four five six seven eight nine ten. And a second sentence."
    playback, task, sent = await start_speaking(text, seconds_per_sentence=2.0)
    task.cancel()

    # The sentence being played is on record from its first chunk, with its full length.
    assert playback.sentences == [("one two three four five six seven eight nine ten.", 0, 2000)]
    assert playback.played_text(1000) == "one two three four five"
    assert playback.played_text(0) == ""
    assert all(m["type"] == "reply.audio" for m in sent)  # no delta for an unfinished sentence


async def test_a_finished_reply_records_every_sentence_back_to_back() -> None:
    text = "First one. Second one! Third?"
    playback, task, sent = await start_speaking(text, seconds_per_sentence=0.1)
    await asyncio.wait_for(task, timeout=5)

    assert [s[1:] for s in playback.sentences] == [(0, 100), (100, 200), (200, 300)]
    assert playback.sent_ms == 300
    assert playback.played_text(playback.sent_ms) == text == playback.text
    assert playback.played_text(150) == "First one. Second"  # half of the second sentence
    deltas = [m["delta"] for m in sent if m["type"] == "transcript.agent.delta"]
    assert "".join(deltas) == text
    assert split_sentences(text) == ["First one.", "Second one!", "Third?"]
