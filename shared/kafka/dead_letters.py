"""The dead-letter record: what a consumer could not process, with why."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

# The DLQ keeps raw caller data like every other topic (short retention, never persisted
# elsewhere unredacted). The error text is the exception type and a bounded message.
MAX_ERROR_CHARS = 2_000


def dead_letter_value(
    *,
    group: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: BaseException,
    attempts: int,
) -> bytes:
    """The JSON value of a ``cc.dlq.v1`` record."""
    body = {
        "failed_at": datetime.now(UTC).isoformat(),
        "group": group,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "attempts": attempts,
        "error_type": f"{type(error).__module__}.{type(error).__name__}",
        "error": str(error)[:MAX_ERROR_CHARS],
        "key_b64": base64.b64encode(key).decode() if key is not None else None,
        "value_b64": base64.b64encode(value).decode() if value is not None else None,
    }
    return json.dumps(body).encode()
