"""Twilio Media Streams, sans I/O: frames in, frames out, TwiML, and the per-call grant.

Inbound frames (``connected``, ``start``, ``media``, ``dtmf``, ``mark``, ``stop``) are parsed into
small dataclasses; anything else is a ``TwilioFrameError`` the socket layer counts and skips
(Twilio cannot be told about errors in-band). Outbound, ``TwilioWire`` turns the session's Voice
Agent API frames into what Twilio plays: each ``reply.audio`` chunk becomes a ``media`` frame
(the mu-law payload passes through as it is, no transcoding) followed by a ``mark`` named
``<reply_id>:<ms sent so far>``, so the echoed marks tell how much the caller really heard; an
interrupted ``reply.done`` becomes ``clear`` (Twilio drops what it has not played). Every other
frame is the Voice Agent API's business and is not sent. Protocol: voice-agent-protocol.md part 2.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from twilio.twiml.voice_response import Connect, VoiceResponse

from shared.lines import SupportLine

# Twilio's ids: account and call SIDs are a two-letter prefix and 32 hex digits.
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
STREAM_SID = re.compile(r"^MZ[0-9a-fA-F]{32}$")
# A caller's number as Twilio sends it (E.164), or a SIP address, or an anonymous caller.
_CALLER = re.compile(r"^[\w+:@.;=-]{1,200}$")
# mu-law 8 kHz: one byte a sample, eight a millisecond.
MULAW_BYTES_PER_MS = 8
# customParameters kept from ``start``: this many, each this long at most.
MAX_PARAMETERS = 16
MAX_PARAMETER_CHARS = 500
SECRET_PARAMETER = "secret"


class TwilioFrameError(ValueError):
    """A frame that is not Twilio Media Streams (the reason never holds the frame's content)."""


@dataclass(frozen=True)
class Connected:
    pass


@dataclass(frozen=True)
class Start:
    stream_sid: str
    account_sid: str
    call_sid: str
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    payload: bytes  # mu-law 8 kHz


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class Mark:
    name: str


@dataclass(frozen=True)
class Stop:
    pass


TwilioEvent = Connected | Start | Media | Dtmf | Mark | Stop


def parse_frame(raw: str | bytes, *, max_bytes: int) -> TwilioEvent:
    """One frame from Twilio, validated; ``TwilioFrameError`` says why not."""
    if len(raw) > max_bytes:
        raise TwilioFrameError("frame too large")
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise TwilioFrameError("not JSON") from None
    if not isinstance(frame, dict):
        raise TwilioFrameError("not a JSON object")
    event = frame.get("event")
    if event == "media":
        media = _object(frame, "media")
        if media.get("track", "inbound") not in ("inbound", "inbound_track"):
            raise TwilioFrameError("media of an outbound track")
        try:
            payload = base64.b64decode(_text(media, "payload", 100_000), validate=True)
        except ValueError:  # binascii.Error, or a non-ASCII payload (found by tests/fuzz/)
            raise TwilioFrameError("media payload is not base64") from None
        return Media(payload)
    if event == "mark":
        return Mark(_text(_object(frame, "mark"), "name", 200))
    if event == "dtmf":
        digit = _text(_object(frame, "dtmf"), "digit", 1)
        if not re.fullmatch(r"[0-9*#A-D]", digit):
            raise TwilioFrameError("not a DTMF digit")
        return Dtmf(digit)
    if event == "start":
        return _start(_object(frame, "start"))
    if event == "stop":
        return Stop()
    if event == "connected":
        return Connected()
    raise TwilioFrameError("unknown event")


def _start(start: dict[str, Any]) -> Start:
    stream_sid = _text(start, "streamSid", 34)
    account_sid = _text(start, "accountSid", 34)
    call_sid = _text(start, "callSid", 34)
    if not (
        STREAM_SID.match(stream_sid) and ACCOUNT_SID.match(account_sid) and CALL_SID.match(call_sid)
    ):
        raise TwilioFrameError("start has malformed ids")
    media_format = start.get("mediaFormat") or {}
    if isinstance(media_format, dict) and media_format.get("encoding", "audio/x-mulaw") != (
        "audio/x-mulaw"
    ):
        raise TwilioFrameError("start names an encoding other than mu-law")
    raw_parameters = start.get("customParameters") or {}
    if not isinstance(raw_parameters, dict) or len(raw_parameters) > MAX_PARAMETERS:
        raise TwilioFrameError("start has malformed customParameters")
    parameters = {
        str(k)[:100]: v[:MAX_PARAMETER_CHARS]
        for k, v in raw_parameters.items()
        if isinstance(v, str)
    }
    return Start(stream_sid, account_sid, call_sid, parameters)


def _object(frame: dict[str, Any], name: str) -> dict[str, Any]:
    value = frame.get(name)
    if not isinstance(value, dict):
        raise TwilioFrameError(f"{name} must be an object")
    return value


def _text(body: dict[str, Any], name: str, max_chars: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_chars:
        raise TwilioFrameError(f"{name} must be a string of at most {max_chars} characters")
    return value


class TwilioWire:
    """The session's frames as Twilio frames for one stream (``connection.Wire``)."""

    def __init__(self, stream_sid: str) -> None:
        self.stream_sid = stream_sid
        self._sent_ms: dict[str, int] = {}  # per reply still playing: audio sent so far

    def outbound(self, frame: dict[str, Any]) -> list[dict[str, Any]]:
        kind = frame.get("type")
        if kind == "reply.audio":
            reply_id = str(frame.get("reply_id"))
            data = str(frame["data"])
            ms = self._sent_ms.get(reply_id, 0) + _decoded_len(data) // MULAW_BYTES_PER_MS
            self._sent_ms[reply_id] = ms
            return [
                {"event": "media", "streamSid": self.stream_sid, "media": {"payload": data}},
                {"event": "mark", "streamSid": self.stream_sid, "mark": {"name": mark_name(
                    reply_id, ms
                )}},
            ]  # fmt: skip
        if kind == "reply.done":
            self._sent_ms.pop(str(frame.get("reply_id")), None)
            if frame.get("status") == "interrupted":
                return [{"event": "clear", "streamSid": self.stream_sid}]
        return []


def mark_name(reply_id: str, ms: int) -> str:
    return f"{reply_id}:{ms}"


def parse_mark(name: str) -> tuple[str, int] | None:
    """(reply id, ms played) of one of our marks; None for any other name."""
    reply_id, _, ms = name.rpartition(":")
    return (reply_id, int(ms)) if reply_id and ms.isdigit() and len(ms) <= 9 else None


def _decoded_len(data: str) -> int:
    return len(data) * 3 // 4 - data[-2:].count("=")


class PhoneCallGrant(BaseModel):
    """What ``/twilio/voice`` handed to the stream it answered with (single use, in Redis)."""

    model_config = ConfigDict(extra="ignore")

    call_sid: str
    account_sid: str
    line_id: str
    caller: str | None = Field(None, max_length=200)  # PII: the caller's number


def valid_caller(value: str | None) -> str | None:
    """The webhook's ``From`` when it looks like an address, else None (never trusted as text)."""
    return value if value and _CALLER.match(value) else None


def line_for_number(lines: dict[str, SupportLine], number: str) -> SupportLine | None:
    """The line that owns the dialled number (E.164, as Twilio sends ``To``)."""
    return next((line for line in lines.values() if number in line.phone_numbers), None)


def stream_twiml(stream_url: str, secret: str, *, line_id: str) -> str:
    """Connect the call to our media socket; the per-call secret rides in a ``<Parameter>``."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    stream.parameter(name=SECRET_PARAMETER, value=secret)
    stream.parameter(name="line", value=line_id)
    response.append(connect)
    return str(response)


def refusal_twiml(message: str | None, *, busy: bool = False) -> str:
    """A polite end for a call we cannot take (unknown number, full, store down)."""
    response = VoiceResponse()
    if busy:
        response.reject(reason="busy")
        return str(response)
    if message:
        response.say(message)
    response.hangup()
    return str(response)
