"""What an analyst asks of the call log: filters, pages and cursors (pure)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Outcome = Literal["contained", "escalated", "abandoned", "in_progress"]
Channel = Literal["voice_agent", "twilio", "text"]


class BadCursorError(ValueError):
    """A cursor that this service did not hand out (or for another ordering)."""


@dataclass(frozen=True)
class CallFilter:
    """Filters of ``GET /v1/calls`` and the exports; every field is optional (None = any).

    ``since``/``until`` bound the call's first event (``until`` exclusive).
    """

    since: datetime | None = None
    until: datetime | None = None
    line_id: str | None = None
    channel: Channel | None = None
    escalated: bool | None = None
    sentiment_min: float | None = None
    sentiment_max: float | None = None
    tool: str | None = None
    outcome: Outcome | None = None
    q: str | None = None


@dataclass(frozen=True)
class Page:
    calls: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(first_seen_at: datetime, call_id: str) -> str:
    """An opaque cursor after the call ``(first_seen_at, call_id)`` in newest-first order."""
    raw = json.dumps([first_seen_at.isoformat(), call_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor stands for; ``BadCursorError`` if it is not one of ours."""
    if len(cursor) > 400:
        raise BadCursorError("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        seen, call_id = json.loads(raw)
        position = datetime.fromisoformat(seen)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursorError("not a cursor of this API") from exc
    if not isinstance(call_id, str) or position.tzinfo is None:
        raise BadCursorError("not a cursor of this API")
    return position, call_id
