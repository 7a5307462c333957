"""The soak's no-op speech models (``GATEWAY_VOICE=noop``) behave like models for the pipeline."""

import numpy as np

from services.gateway.adapters.noop_models import (
    HEARD,
    MS_PER_CHAR,
    EnergyDetector,
    FixedTranscriber,
    SilentSynthesizer,
)
from services.gateway.domain.turn_detection import looks_complete


def test_loud_frames_are_speech_and_quiet_ones_are_not() -> None:
    t = np.arange(512 * 3) / 16_000
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    audio[512:1024] = 0.001
    assert EnergyDetector().probabilities(audio) == [0.99, 0.01, 0.99]
    assert EnergyDetector().probabilities(audio[:100]) == []


def test_speech_is_heard_as_a_complete_question_and_silence_as_nothing() -> None:
    loud = np.full(16_000, 0.2, dtype=np.float32)
    assert FixedTranscriber().transcribe(loud) == HEARD
    assert looks_complete(HEARD)
    assert FixedTranscriber().transcribe(np.zeros(16_000, dtype=np.float32)) == ""


def test_a_reply_is_silence_as_long_as_its_text_takes_to_say() -> None:
    synth = SilentSynthesizer()
    (pcm,) = list(synth.synthesize("twenty characters!!!"))
    assert len(pcm) == 20 * MS_PER_CHAR * synth.sample_rate // 1000
    assert not pcm.any()
