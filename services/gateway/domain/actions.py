"""What the session core asks its I/O layer to do (plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.events import EventPayload


@dataclass(frozen=True)
class Send:
    frame: dict[str, Any]


@dataclass(frozen=True)
class Publish:
    payload: EventPayload


@dataclass(frozen=True)
class Close:
    code: int
    reason: str


@dataclass(frozen=True)
class Hear:
    """Caller audio (decoded from base64, still in the input encoding) for the listener."""

    audio: bytes


@dataclass(frozen=True)
class Speak:
    """Say ``text`` as reply ``reply_id``; the I/O layer reports back with ``finish_reply``."""

    reply_id: str
    item_id: str
    text: str


@dataclass(frozen=True)
class CancelReply:
    """Stop the reply being spoken (``reply.cancel``); it ends as interrupted."""


@dataclass(frozen=True)
class Respond:
    """Run an agent turn over the conversation; ``instructions`` is a one-shot system note."""

    instructions: str | None = None


Action = Send | Publish | Close | Hear | Speak | CancelReply | Respond
