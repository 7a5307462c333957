"""Load the embedded speech models the settings ask for (once per gateway process)."""

from __future__ import annotations

from services.gateway.adapters.model_files import whisper_base_dir, whisper_tiny_en_dir
from services.gateway.adapters.noop_models import (
    EnergyDetector,
    FixedTranscriber,
    SilentSynthesizer,
)
from services.gateway.adapters.speech_models import (
    EspeakSynthesizer,
    PiperSynthesizer,
    SileroSpeechDetector,
    WhisperTranscriber,
)
from services.gateway.pipeline.inference import SpeechModels, Synthesizer
from services.gateway.settings import GatewaySettings


def load_speech_models(settings: GatewaySettings) -> SpeechModels:
    if settings.voice == "noop":  # benchmarks only: the pipeline without the models' cost
        return SpeechModels(
            partial=FixedTranscriber(),
            final=FixedTranscriber(),
            synthesizer=SilentSynthesizer(),
            new_detector=EnergyDetector,
        )
    threads = max(1, settings.inference_workers)
    partial = WhisperTranscriber(whisper_tiny_en_dir(), cpu_threads=threads)
    final = (
        partial
        if settings.stt_model == "tiny.en"
        else WhisperTranscriber(whisper_base_dir(), cpu_threads=threads, beam_size=5)
    )
    synthesizer: Synthesizer = (
        PiperSynthesizer() if settings.tts == "piper" else EspeakSynthesizer()
    )
    return SpeechModels(
        partial=partial, final=final, synthesizer=synthesizer, new_detector=SileroSpeechDetector
    )
