"""Twilio's wire formats for a simulated Media Streams peer, from Twilio's documentation.

Independent of the gateway's own code on purpose (nothing from ``shared.audio`` or
``services``), so that tests check the gateway against the documented protocol rather than
against itself:

- G.711 mu-law encode/decode of int16 numpy arrays (the ITU formulas: bias 0x84, clip 32635,
  bits inverted on the wire, so digital silence is 0xFF) and ``recording()``, which resamples
  PCM to 8 kHz and encodes it;
- ``sign()``: the ``X-Twilio-Signature`` of a webhook (base64 HMAC-SHA1 keyed with the auth
  token over the full URL followed by each POST parameter sorted by name, name then value);
- ``read_server_message()``: what Twilio makes of one frame a server sends: play audio, place
  a mark, clear, or nothing (anything else, malformed or for another streamSid, is ignored).

The playback buffer and the caller's speech queue are in ``twilio_playback``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soxr

BYTES_PER_S = 8000  # mu-law 8 kHz mono: one byte per sample
FRAME_BYTES = 160  # 20 ms, the size of every media frame Twilio sends
SILENCE = 0xFF  # mu-law of 0

_BIAS = 0x84
_CLIP = 32635
# Segment (exponent) of a biased magnitude, looked up by its top byte: the highest set bit.
_SEGMENT = np.array([0] + [int(np.log2(i)) for i in range(1, 256)], dtype=np.int32)

Pcm = npt.NDArray[np.int16]


def mulaw_encode(pcm: Pcm) -> bytes:
    """Encode int16 samples as G.711 mu-law bytes."""
    x = np.asarray(pcm, dtype=np.int32)
    sign = np.where(x < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(x), _CLIP) + _BIAS
    segment = _SEGMENT[(magnitude >> 7) & 0xFF]
    mantissa = (magnitude >> (segment + 3)) & 0x0F
    code = ~(sign | (segment << 4) | mantissa) & 0xFF
    return bytes(code.astype(np.uint8))


def mulaw_decode(mulaw: bytes) -> Pcm:
    """Decode G.711 mu-law bytes to int16 samples."""
    code = ~np.frombuffer(mulaw, dtype=np.uint8).astype(np.int32) & 0xFF
    segment = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << segment) - _BIAS
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def recording(pcm: Pcm, rate: int) -> bytes:
    """What a phone line carries for ``pcm`` at ``rate`` Hz: 8 kHz mu-law."""
    if rate != BYTES_PER_S:
        pcm = soxr.resample(np.asarray(pcm, dtype=np.int16), rate, BYTES_PER_S)
    return mulaw_encode(pcm)


def sign(url: str, params: dict[str, str], auth_token: str) -> str:
    """Twilio's ``X-Twilio-Signature`` for a POST of ``params`` to ``url``."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class PlayAudio:
    audio: bytes


@dataclass(frozen=True)
class PlaceMark:
    name: str


@dataclass(frozen=True)
class ClearAudio:
    pass


ServerRequest = PlayAudio | PlaceMark | ClearAudio


class Ignored(ValueError):
    """A frame Twilio would not act on: not a JSON object, malformed, or another stream's."""


def read_server_message(
    raw: str | bytes, stream_sid: str
) -> tuple[dict[str, Any], ServerRequest | None]:
    """The message and what it asks of playback (None for events playback does not use).

    Raises Ignored for a frame Twilio would not act on.
    """
    try:
        message = json.loads(raw)
    except ValueError as e:
        raise Ignored("not JSON") from e
    if not isinstance(message, dict):
        raise Ignored("not a JSON object")
    event = message.get("event")
    if event not in ("media", "mark", "clear"):
        return message, None
    if message.get("streamSid") != stream_sid:
        raise Ignored("another stream")
    if event == "clear":
        return message, ClearAudio()
    body = message.get(event)
    if event == "mark":
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            return message, PlaceMark(body["name"])
        raise Ignored("malformed mark")
    if not isinstance(body, dict):
        raise Ignored("malformed media")
    try:
        return message, PlayAudio(base64.b64decode(body["payload"], validate=True))
    except (KeyError, TypeError, binascii.Error) as e:
        raise Ignored("malformed") from e
