"""The analytics service's ports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from services.analytics.domain.call_log import CallLogChange


class CallLog(Protocol):
    """Durable, idempotent store of redacted call logs."""

    async def apply(self, change: CallLogChange) -> bool:
        """Store a change in one transaction. False if its event was stored before.

        Raises ``DependencyUnavailableError`` when the database cannot be reached.
        """
        ...

    async def apply_many(self, changes: list[CallLogChange]) -> int:
        """Store changes in one transaction; returns how many were new (not redeliveries)."""
        ...

    async def get_call(self, call_id: str) -> dict[str, Any] | None:
        """The call's summary with its turns in order, or None."""
        ...

    async def list_calls(
        self, *, line_id: str | None, since: datetime | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """Call summaries, newest first."""
        ...

    async def purge_before(self, cutoff: datetime) -> int:
        """Delete calls (and their rows) that ended before ``cutoff``; returns calls deleted."""
        ...

    async def ping(self) -> bool: ...
