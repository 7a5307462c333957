"""G.711 codecs against CPython's reference implementation, and the streaming resampler."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from shared.audio.codecs import (
    WIRE_FORMATS,
    StreamResampler,
    alaw_to_pcm,
    bytes_to_pcm16,
    mulaw_to_pcm,
    pcm16_to_bytes,
    pcm_to_alaw,
    pcm_to_mulaw,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the C reference G.711 of CPython 3.11 (removed in 3.13)

EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)
EVERY_CODE = bytes(range(256))


def test_mulaw_matches_the_reference_for_every_sample_and_code() -> None:
    raw = EVERY_SAMPLE.astype("<i2").tobytes()
    assert pcm_to_mulaw(EVERY_SAMPLE) == audioop.lin2ulaw(raw, 2)
    reference = np.frombuffer(audioop.ulaw2lin(EVERY_CODE, 2), dtype="<i2")
    assert np.array_equal(mulaw_to_pcm(EVERY_CODE), reference)


def test_alaw_matches_the_reference_for_every_sample_and_code() -> None:
    raw = EVERY_SAMPLE.astype("<i2").tobytes()
    assert pcm_to_alaw(EVERY_SAMPLE) == audioop.lin2alaw(raw, 2)
    reference = np.frombuffer(audioop.alaw2lin(EVERY_CODE, 2), dtype="<i2")
    assert np.array_equal(alaw_to_pcm(EVERY_CODE), reference)


def test_pcm16_round_trip_and_odd_trailing_byte() -> None:
    pcm = np.array([0, 1, -1, 32767, -32768], dtype=np.int16)
    assert np.array_equal(bytes_to_pcm16(pcm16_to_bytes(pcm)), pcm)
    assert np.array_equal(bytes_to_pcm16(pcm16_to_bytes(pcm) + b"\x01"), pcm)


@pytest.mark.parametrize("encoding", sorted(WIRE_FORMATS))
def test_wire_formats_round_trip_speech_level_audio(encoding: str) -> None:
    wire = WIRE_FORMATS[encoding]
    t = np.arange(wire.sample_rate) / wire.sample_rate
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    back = wire.decode(wire.encode(tone))
    snr = 10 * np.log10(
        np.sum(tone.astype(float) ** 2) / np.sum((tone - back.astype(float)) ** 2 + 1e-9)
    )
    assert snr > (30 if encoding != "audio/pcm" else 120)  # G.711 is ~38 dB; PCM is exact
    assert len(wire.encode(tone)) == wire.bytes_per_second


def _peak_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(float)))
    return float(np.argmax(spectrum) * rate / len(pcm))


@pytest.mark.parametrize(("src", "dst"), [(24_000, 8_000), (8_000, 16_000), (24_000, 16_000)])
def test_streaming_resampling_in_20ms_chunks_keeps_pitch_and_length(src: int, dst: int) -> None:
    t = np.arange(src) / src
    tone = (10_000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    resampler = StreamResampler(src, dst)
    chunk = src // 50
    out = [resampler.process(tone[i : i + chunk]) for i in range(0, len(tone), chunk)]
    out.append(resampler.flush())
    result = np.concatenate(out)
    assert abs(len(result) - dst) <= 2
    assert abs(_peak_hz(result, dst) - 1000) < 5


def test_same_rate_is_a_pass_through() -> None:
    pcm = np.arange(100, dtype=np.int16)
    assert StreamResampler(8000, 8000).process(pcm) is pcm
