"""G.711 (mu-law, A-law) and PCM16 codecs, and a streaming resampler.

Everything inside the voice pipeline is 16-bit signed PCM (numpy ``int16``) at one of a few
rates; these codecs turn the wire formats of the Voice Agent API (``audio/pcm`` 24 kHz,
``audio/pcmu`` and ``audio/pcma`` 8 kHz) and of Twilio (mu-law 8 kHz) into that and back.
G.711 uses lookup tables built once from the ITU-T G.711 definitions; resampling uses libsoxr
(``soxr``), which keeps filter state between chunks so 20 ms frames resample without clicks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import soxr
from numpy.typing import NDArray

Pcm = NDArray[np.int16]
Encoding = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]

_MULAW_BIAS = 0x84


def _mulaw_decode_table() -> Pcm:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _MULAW_BIAS) << exponent) - _MULAW_BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> Pcm:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


def _mulaw_encode_table() -> NDArray[np.uint8]:
    # ITU-T G.711 on 14-bit samples, as in the CCITT reference encoder.
    value = np.arange(-32768, 32768, dtype=np.int32) >> 2
    negative = value < 0
    mask = np.where(negative, 0x7F, 0xFF)
    value = np.minimum(np.where(negative, -value, value), 8159) + (_MULAW_BIAS >> 2)
    segment_ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    segment = np.searchsorted(segment_ends, value, side="left")
    code = np.where(
        segment >= 8, 0x7F, (segment << 4) | ((value >> (np.minimum(segment, 7) + 1)) & 0x0F)
    )
    table: NDArray[np.uint8] = ((code ^ mask) & 0xFF).astype(np.uint8)
    return table


def _alaw_encode_table() -> NDArray[np.uint8]:
    samples = np.arange(-32768, 32768, dtype=np.int32)
    sign = np.where(samples >= 0, 0x80, 0)
    magnitude = np.minimum(np.where(samples >= 0, samples, -samples - 1), 32767) >> 3
    exponent = np.where(magnitude < 32, 0, np.floor(np.log2(np.maximum(magnitude, 1))) - 4)
    exponent = np.clip(exponent, 0, 7).astype(np.int32)
    mantissa = np.where(exponent == 0, magnitude >> 1, magnitude >> exponent) & 0x0F
    table: NDArray[np.uint8] = ((sign | (exponent << 4) | mantissa) ^ 0x55).astype(np.uint8)
    return table


_MULAW_DECODE = _mulaw_decode_table()
_ALAW_DECODE = _alaw_decode_table()
_MULAW_ENCODE = _mulaw_encode_table()
_ALAW_ENCODE = _alaw_encode_table()


def mulaw_to_pcm(data: bytes) -> Pcm:
    return _MULAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def pcm_to_mulaw(pcm: Pcm) -> bytes:
    return _MULAW_ENCODE[pcm.astype(np.int32) + 32768].tobytes()


def alaw_to_pcm(data: bytes) -> Pcm:
    return _ALAW_DECODE[np.frombuffer(data, dtype=np.uint8)]


def pcm_to_alaw(pcm: Pcm) -> bytes:
    return _ALAW_ENCODE[pcm.astype(np.int32) + 32768].tobytes()


def bytes_to_pcm16(data: bytes) -> Pcm:
    """Little-endian PCM16 bytes as samples; a trailing odd byte is dropped."""
    usable = len(data) - len(data) % 2
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.int16)


def pcm16_to_bytes(pcm: Pcm) -> bytes:
    return pcm.astype("<i2").tobytes()


@dataclass(frozen=True)
class WireFormat:
    """An encoding on the wire: its sample rate and how to turn it into PCM and back."""

    encoding: Encoding
    sample_rate: int
    bytes_per_sample: int

    def decode(self, data: bytes) -> Pcm:
        if self.encoding == "audio/pcmu":
            return mulaw_to_pcm(data)
        if self.encoding == "audio/pcma":
            return alaw_to_pcm(data)
        return bytes_to_pcm16(data)

    def encode(self, pcm: Pcm) -> bytes:
        if self.encoding == "audio/pcmu":
            return pcm_to_mulaw(pcm)
        if self.encoding == "audio/pcma":
            return pcm_to_alaw(pcm)
        return pcm16_to_bytes(pcm)

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.bytes_per_sample


WIRE_FORMATS: dict[str, WireFormat] = {
    "audio/pcm": WireFormat("audio/pcm", 24_000, 2),
    "audio/pcmu": WireFormat("audio/pcmu", 8_000, 1),
    "audio/pcma": WireFormat("audio/pcma", 8_000, 1),
}


class StreamResampler:
    """Resamples a stream chunk by chunk, keeping filter state (libsoxr).

    Output lags input by the filter's delay (a few ms); ``flush()`` returns the tail.
    """

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None
            if in_rate == out_rate
            else soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality="HQ")
        )

    def process(self, pcm: Pcm) -> Pcm:
        if self._stream is None:
            return pcm
        out: Pcm = self._stream.resample_chunk(pcm)
        return out

    def flush(self) -> Pcm:
        if self._stream is None:
            return np.zeros(0, dtype=np.int16)
        out: Pcm = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        return out
