"""A text/voice caller over the Voice Agent API for tests, and the audio they measure with."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np


class Caller:
    """A voice-agent client that keeps every frame it receives."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._seen = 0

    async def next(self, wanted: str, timeout_s: float = 10) -> dict[str, Any]:
        """The next frame of type ``wanted`` (frames of other types are kept, not returned)."""
        async with asyncio.timeout(timeout_s):
            while True:
                while self._seen < len(self.frames):
                    frame = self.frames[self._seen]
                    self._seen += 1
                    if frame["type"] == wanted:
                        return frame
                self.frames.append(json.loads(await self.ws.recv()))

    async def say(self, text: str, timeout_s: float = 20) -> str:
        """Send a text turn; the agent's next transcript."""
        await self.ws.send(json.dumps({"type": "input.text", "text": text}))
        return str((await self.next("transcript.agent", timeout_s))["text"])

    async def answer_to(self, text: str) -> str:
        await self.ws.send(json.dumps({"type": "input.text", "text": text}))
        await self.next("transcript.user")
        return str((await self.next("transcript.agent"))["text"])

    async def ready(self, **config: Any) -> str:
        await self.ws.send(json.dumps({"type": "session.update", "session": config}))
        session_id = str((await self.next("session.ready"))["session_id"])
        await self.next("transcript.agent")  # the greeting
        return session_id


def tone(seconds: float, rate: int) -> np.ndarray[Any, np.dtype[np.int16]]:
    """A 440 Hz tone at about a quarter of full scale."""
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)


def rms(pcm: np.ndarray[Any, Any]) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) if len(pcm) else 0.0
