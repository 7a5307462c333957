"""Bench-only speech models that cost nothing (``GATEWAY_VOICE=noop``).

The real voice pipeline runs around them (listener, turn detection, dialogue, speaker, events,
checkpoints), so a soak measures what the gateway holds and spends per session without the
models' time: speech is any frame louder than ``SPEECH_RMS``, every turn is heard as ``HEARD``,
and a reply is silence lasting ``MS_PER_CHAR`` per character of its text. Never for callers.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from shared.audio.codecs import Pcm

SPEECH_RMS = 0.02  # of full scale; the soak's caller speaks a tone well above it
HEARD = "What are your hours?"  # a question the demo line answers from its policy, no tools
MS_PER_CHAR = 60  # about 160 words a minute


class EnergyDetector:
    """Voice activity by loudness: 0.99 for a 32 ms frame above ``SPEECH_RMS``, else 0.01."""

    frame_samples = 512

    def probabilities(self, audio: NDArray[np.float32]) -> list[float]:
        usable = len(audio) - len(audio) % self.frame_samples
        if not usable:
            return []
        frames = audio[:usable].reshape(-1, self.frame_samples)
        rms = np.sqrt(np.mean(np.square(frames), axis=1))
        return [0.99 if level > SPEECH_RMS else 0.01 for level in rms]

    def reset(self) -> None:
        return None


class FixedTranscriber:
    """Hears ``HEARD`` in any audio with speech in it, nothing in silence."""

    def transcribe(self, audio: NDArray[np.float32], *, prompt: str | None = None) -> str:
        loud = len(audio) and float(np.sqrt(np.mean(np.square(audio)))) > SPEECH_RMS / 4
        return HEARD if loud else ""


class SilentSynthesizer:
    """Silence as long as the text would take to say."""

    sample_rate = 16_000

    def synthesize(self, text: str) -> Iterator[Pcm]:
        yield np.zeros(len(text) * MS_PER_CHAR * self.sample_rate // 1000, dtype=np.int16)
