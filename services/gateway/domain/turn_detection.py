"""End-of-turn detection over voice-activity probabilities (pure, frame by frame).

The caller speaks when ``vad_threshold`` is crossed for ``START_MS``; the turn ends after
``min_silence`` ms of silence if the words so far look complete (the recogniser's last partial
ends a sentence), and after ``max_silence`` ms of silence in any case. Short pauses mid-sentence
therefore do not cut the caller off, and a finished question is answered quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FRAME_MS = 32  # Silero's frame at 16 kHz: 512 samples
START_MS = 96  # speech this long starts a turn (coughs and clicks are shorter)

Signal = Literal["speech_started", "turn_ended"]


@dataclass
class TurnDetector:
    threshold: float = 0.5
    min_silence_ms: int = 1000
    max_silence_ms: int = 3000
    # Set by the caller from the latest partial transcript.
    looks_complete: bool = False
    speaking: bool = False
    _voiced_ms: int = 0
    _silent_ms: int = 0
    position_ms: int = 0  # audio seen so far
    turn_started_ms: int = 0
    speech_ms: int = 0  # voiced audio in the current turn

    def update(self, probability: float) -> Signal | None:
        """Feed one frame's speech probability; a signal when the state changes."""
        self.position_ms += FRAME_MS
        voiced = probability >= self.threshold
        if not self.speaking:
            self._voiced_ms = self._voiced_ms + FRAME_MS if voiced else 0
            if self._voiced_ms >= START_MS:
                self.speaking = True
                self.turn_started_ms = self.position_ms - self._voiced_ms
                self.speech_ms = self._voiced_ms
                self._silent_ms = 0
                self.looks_complete = False
                return "speech_started"
            return None
        if voiced:
            self._silent_ms = 0
            self.speech_ms += FRAME_MS
            return None
        self._silent_ms += FRAME_MS
        enough = self._silent_ms >= self.max_silence_ms or (
            self.looks_complete and self._silent_ms >= self.min_silence_ms
        )
        if enough:
            self.speaking = False
            self._voiced_ms = 0
            return "turn_ended"
        return None

    @property
    def silence_ms(self) -> int:
        return self._silent_ms if self.speaking else 0

    def end_now(self) -> None:
        """End the current turn (a bound was reached)."""
        self.speaking = False
        self._voiced_ms = 0


def looks_complete(text: str) -> bool:
    """Whether a partial transcript reads like a finished utterance."""
    return text.rstrip().endswith((".", "?", "!"))


# Short acknowledgements that must not interrupt the agent (backchannels).
BACKCHANNELS = frozenset(
    {
        "uh-huh", "uh huh", "mm-hm", "mm-hmm", "mhm", "mm", "hmm", "okay", "ok", "right",
        "yeah", "yes", "yep", "sure", "i see", "got it", "alright", "all right", "uh", "um",
    }
)  # fmt: skip


def is_backchannel(text: str) -> bool:
    """True for an utterance that only acknowledges (or is empty: a cough, a noise)."""
    words = "".join(c for c in text.lower() if c.isalpha() or c in " -'").split()
    if not words:
        return True
    return " ".join(words) in BACKCHANNELS or (
        len(words) <= 2 and all(w in BACKCHANNELS for w in words)
    )
