"""The Voice Agent API wire format, sans I/O: parse client frames, build server frames.

Unit tests feed this module strings and read back dicts; nothing here touches a socket.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Literal

ErrorCode = Literal[
    "unauthorized",
    "invalid_format",
    "invalid_value",
    "invalid_config",
    "immutable_field",
    "session_not_found",
    "session_forbidden",
    "session_expired",
    "concurrency_exceeded",
    "at_capacity",
    "audio_rate_violation",
    "invalid_audio",
    "internal_error",
    "gateway_draining",
]

CLIENT_TYPES = frozenset(
    {
        "session.update",
        "session.resume",
        "input.audio",
        "input.text",
        "tool.result",
        "reply.create",
        "conversation.message",
        "session.end",
        "reply.cancel",
    }
)
# Bound on injected text (input.text, conversation.message, instructions).
MAX_TEXT_CHARS = 4_000


class ProtocolError(ValueError):
    """A frame the session rejects; it becomes a ``session.error`` and the session goes on."""

    def __init__(self, code: ErrorCode, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message
        self.param = param


@dataclass(frozen=True)
class ClientEvent:
    type: str
    body: dict[str, Any]


def parse_client_frame(raw: str | bytes, *, max_bytes: int) -> ClientEvent:
    """A client frame as ``(type, body)``; raises ``ProtocolError(invalid_format)``."""
    if isinstance(raw, bytes):
        raise ProtocolError("invalid_format", "binary frames are not supported; send JSON text")
    # A character is 1-4 UTF-8 bytes: encode only when the length alone cannot decide.
    if len(raw) > max_bytes or (len(raw) * 4 > max_bytes and len(raw.encode()) > max_bytes):
        raise ProtocolError("invalid_format", f"frame larger than {max_bytes} bytes")
    try:
        body = json.loads(raw)
    except ValueError:
        raise ProtocolError("invalid_format", "frame is not valid JSON") from None
    if not isinstance(body, dict):
        raise ProtocolError("invalid_format", "frame must be a JSON object")
    event_type = body.get("type")
    if not isinstance(event_type, str):
        raise ProtocolError("invalid_format", "frame has no string 'type'", "type")
    if event_type not in CLIENT_TYPES:
        raise ProtocolError("invalid_format", f"unknown event type {event_type[:64]!r}", "type")
    return ClientEvent(event_type, body)


def text_field(body: dict[str, Any], *names: str) -> str:
    """The first present field of ``names`` as bounded text (``invalid_value`` otherwise)."""
    for name in names:
        if name in body:
            value = body[name]
            if not isinstance(value, str):
                raise ProtocolError("invalid_value", f"'{name}' must be a string", name)
            if len(value) > MAX_TEXT_CHARS:
                raise ProtocolError("invalid_value", f"'{name}' longer than {MAX_TEXT_CHARS}", name)
            return value
    raise ProtocolError("invalid_value", f"'{names[0]}' is required", names[0])


def error_frame(code: ErrorCode, message: str, param: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "session.error", "code": code, "message": message}
    if param is not None:
        frame["param"] = param
    return frame


def decode_audio_field(body: dict[str, Any], *, max_bytes: int) -> bytes:
    """The decoded ``audio`` of an ``input.audio`` body; ``invalid_audio`` when it is not."""
    audio = body.get("audio")
    if not isinstance(audio, str):
        raise ProtocolError("invalid_audio", "audio must be a base64 string", "audio")
    if len(audio) > max_bytes * 4 // 3 + 4:
        raise ProtocolError("invalid_audio", "audio chunk larger than 10 s", "audio")
    try:
        return base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("invalid_audio", "audio is not valid base64", "audio") from None
