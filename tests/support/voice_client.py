"""A Voice Agent API caller that speaks WAV files in real time, as a microphone would."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from shared.audio.codecs import WIRE_FORMATS, Pcm, StreamResampler

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
CHUNK_MS = 50


def librivox(clip: str) -> tuple[Pcm, int, str]:
    """A LibriVox clip (PCM, rate) and its reference transcript."""
    path = LIBRIVOX / f"sense_and_sensibility_01_austen_64kb-{clip}.wav"
    with wave.open(str(path)) as wav:
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        rate = wav.getframerate()
    for line in (LIBRIVOX / "transcription").read_text().splitlines():
        if clip in line:
            return pcm, rate, line.split("</s>")[0].replace("<s>", "").strip()
    raise KeyError(clip)


def espeak(text: str) -> tuple[Pcm, int]:
    wav = subprocess.run(
        ["espeak-ng", "-v", "en-us", "--stdout", text], capture_output=True, check=True
    ).stdout
    return np.frombuffer(wav[44:], dtype=np.int16), 22_050


def resample(pcm: Pcm, src: int, dst: int) -> Pcm:
    resampler = StreamResampler(src, dst)
    return np.concatenate([resampler.process(pcm), resampler.flush()])


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis) or "<empty>"))


@dataclass
class Conversation:
    frames: list[dict[str, Any]] = field(default_factory=list)
    audio: dict[str, list[bytes]] = field(default_factory=dict)  # reply_id -> chunks

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


class VoiceCaller:
    def __init__(self, ws: Any, encoding: str = "audio/pcm") -> None:
        self.ws = ws
        self.wire = WIRE_FORMATS[encoding]
        self.log = Conversation()
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame["type"] == "reply.audio":
                self.log.audio.setdefault(frame["reply_id"], []).append(
                    base64.b64decode(frame["data"])
                )
            else:
                self.log.frames.append(frame)
            self._arrived.set()

    async def say(self, pcm: Pcm, rate: int, *, silence_after_ms: int = 0) -> None:
        """Stream ``pcm`` (then silence) in 50 ms chunks at real time."""
        audio = resample(pcm, rate, self.wire.sample_rate)
        audio = np.concatenate(
            [audio, np.zeros(self.wire.sample_rate * silence_after_ms // 1000, dtype=np.int16)]
        )
        step = self.wire.sample_rate * CHUNK_MS // 1000
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, offset in enumerate(range(0, len(audio), step)):
            chunk = self.wire.encode(audio[offset : offset + step])
            await self.ws.send(
                json.dumps({"type": "input.audio", "audio": base64.b64encode(chunk).decode()})
            )
            await asyncio.sleep(max(0.0, start + (index + 1) * CHUNK_MS / 1000 - loop.time()))

    async def wait_for(self, kind: str, count: int = 1, within_s: float = 30.0) -> dict[str, Any]:
        """The ``count``-th frame of type ``kind``, waiting up to ``within_s``."""
        try:
            async with asyncio.timeout(within_s):
                while len(self.log.of(kind)) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            seen = [f["type"] for f in self.log.frames]
            raise AssertionError(f"no {kind} #{count} in {within_s} s; saw {seen}") from None
        return self.log.of(kind)[count - 1]

    def reply_pcm(self, reply_id: str) -> Pcm:
        return self.wire.decode(b"".join(self.log.audio.get(reply_id, [])))

    async def close(self) -> None:
        self._reader.cancel()
