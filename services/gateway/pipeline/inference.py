"""The inference worker pool and the async faces of the speech models.

A thread pool, sized to the cores: CTranslate2, ONNX Runtime and the Silero library release the
GIL while they compute, so threads run them in parallel over one shared copy of each model (no
per-process model memory, no audio copied between processes). Each session keeps at most one
recognition job in flight (partials are skipped while one runs), so the pool's queue is bounded
by the number of sessions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from shared.audio.codecs import Pcm

T = TypeVar("T")
Audio = NDArray[np.float32]


class Transcriber(Protocol):
    def transcribe(self, audio: Audio, *, prompt: str | None = None) -> str: ...


class Synthesizer(Protocol):
    sample_rate: int

    def synthesize(self, text: str) -> Iterable[Pcm]: ...


class SpeechDetector(Protocol):
    frame_samples: int

    def probabilities(self, audio: Audio) -> list[float]: ...

    def reset(self) -> None: ...


@dataclass
class SpeechModels:
    """The loaded models a gateway process shares between its sessions."""

    partial: Transcriber  # fast, for live deltas and barge-in checks
    final: Transcriber  # accurate, for the turn's transcript
    synthesizer: Synthesizer
    new_detector: Callable[[], SpeechDetector]  # VAD keeps per-stream state: one per session


class InferencePool:
    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inference")

    async def run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def synthesize_all(synthesizer: Synthesizer, text: str) -> Pcm:
    chunks = [np.asarray(c, dtype=np.int16) for c in synthesizer.synthesize(text)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
