"""The envelope every record on the event backbone carries.

``{event_id, type, version, occurred_at, call_id, line_id, source, payload}`` as JSON; the W3C
``traceparent`` travels in Kafka headers, not here. Consumers ignore fields they do not know.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A record larger than this is refused by the decoder: it cannot be a call event, and parsing it
# would let one bad producer exhaust a consumer's memory.
MAX_EVENT_BYTES = 1_000_000


class EventPayload(BaseModel):
    """Base of every payload model. Subclasses set ``event_type`` and ``event_version``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


class Envelope(BaseModel):
    """One event as it crosses Kafka. ``payload`` is the JSON object of its payload model."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=100)
    version: int = Field(ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    call_id: str = Field(min_length=1, max_length=200)
    line_id: str = Field(default="", max_length=200)
    source: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone (UTC)")
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        """The wire form: compact JSON, UTF-8."""
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Parse the wire form; raises ``ValueError`` (pydantic's) on anything malformed."""
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)
        if size > MAX_EVENT_BYTES:
            raise ValueError(f"event of {size} bytes exceeds {MAX_EVENT_BYTES}")
        return cls.model_validate_json(raw)


def new_event(
    payload: EventPayload,
    *,
    call_id: str,
    source: str,
    line_id: str = "",
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Envelope:
    """Wrap a payload in an envelope of the payload's own type and (latest) version."""
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        type=payload.event_type,
        version=payload.event_version,
        occurred_at=occurred_at or datetime.now(UTC),
        call_id=call_id,
        line_id=line_id,
        source=source,
        payload=payload.model_dump(mode="json"),
    )
