"""A text/voice caller over the Voice Agent API for tests, and the audio they measure with."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import websockets

from tests.support.call_ledger import CallerRecord


class ResumeRefusedError(Exception):
    """``session.resume`` was answered with a ``session.error`` (its code is the message)."""


class Caller:
    """A voice-agent client that keeps every frame it receives."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self._seen = 0

    async def next(self, wanted: str, timeout_s: float = 10) -> dict[str, Any]:
        """The next frame of type ``wanted`` (frames of other types are kept, not returned)."""
        return await self.next_of((wanted,), timeout_s)

    async def next_of(self, wanted: tuple[str, ...], timeout_s: float = 10) -> dict[str, Any]:
        """The next frame of any of the ``wanted`` types."""
        async with asyncio.timeout(timeout_s):
            while True:
                while self._seen < len(self.frames):
                    frame = self.frames[self._seen]
                    self._seen += 1
                    if frame["type"] in wanted:
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


async def scripted_call(
    url: str,
    key: str,
    questions: list[str],
    record: CallerRecord,
    *,
    between: Callable[[int], Awaitable[None]] | None = None,
    end: bool = True,
    turn_timeout_s: float = 20,
) -> CallerRecord:
    """A text call: ready, each question in turn (timing the answer), then ``session.end``.

    ``between(n)`` runs before question ``n`` (a test waits there for its fault). With
    ``record.call_id`` set, the call resumes that session instead of starting one. What the
    caller saw goes into ``record``; a dropped socket ends the call early (its close code noted).
    """
    headers = {"Authorization": f"Bearer {key}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        caller = Caller(ws)
        try:
            if record.call_id:
                await ws.send(json.dumps({"type": "session.resume", "session_id": record.call_id}))
                first = await caller.next_of(("session.ready", "session.error"))
                if first["type"] == "session.error":
                    raise ResumeRefusedError(str(first["code"]))
                record.resumed = True
            else:
                record.call_id = await caller.ready()
            for n, question in enumerate(questions):
                if between is not None:
                    await between(n)
                asked = time.monotonic()
                record.replies.append(await caller.say(question, turn_timeout_s))
                record.answer_s.append(time.monotonic() - asked)
            if end:
                await ws.send(json.dumps({"type": "session.end"}))
                await caller.next("session.ended")
        except websockets.ConnectionClosed:
            pass
        finally:
            for frame in caller.frames:
                record.saw(frame)
    record.close_codes.append(ws.close_code)
    return record
