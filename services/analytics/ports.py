"""The analytics service's ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from services.analytics.domain.call_log import CallLogChange
    from services.analytics.domain.live_kpis import KpiInputs
    from services.analytics.domain.queries import CallFilter, Page
    from services.analytics.domain.stats import DailyRow
    from shared.events import Envelope
    from shared.redaction import Redaction


class Redactor(Protocol):
    """Finds and replaces personal data in text (``shared.redaction`` is the real one)."""

    def redact(self, text: str, *, previous: str | None = None) -> Redaction: ...

    def redact_value(self, value: Any) -> Any: ...


class CallLog(Protocol):
    """Durable, idempotent store of redacted call logs."""

    async def apply_many(self, changes: list[CallLogChange]) -> int:
        """Store changes in one transaction; returns how many were new (not redeliveries).

        Raises ``DependencyUnavailableError`` when the database cannot be reached.
        """
        ...

    async def ping(self) -> bool: ...


class CallQueries(Protocol):
    """What analysts read: calls by filter, one call's timeline, exports."""

    async def list_calls(self, where: CallFilter, *, limit: int, cursor: str | None) -> Page:
        """Call summaries, newest first, one page at a time."""
        ...

    async def get_call(self, call_id: str) -> dict[str, Any] | None:
        """The call's summary and its timeline, or None."""
        ...

    def export_calls(self, where: CallFilter) -> AsyncIterator[dict[str, Any]]:
        """Every matching call summary, streamed from a server-side cursor."""
        ...

    def export_turns(self, where: CallFilter) -> AsyncIterator[dict[str, Any]]:
        """Every turn of every matching call, streamed."""
        ...


class StatsStore(Protocol):
    """Per-day, per-line figures: rollups for finished days, computed live for the rest."""

    async def daily(self, first: date, last: date, *, line_id: str | None) -> list[DailyRow]: ...

    async def roll_up(self, day: date) -> int:
        """Compute and store the rollups of ``day``; returns how many lines had calls."""
        ...


class Retention(Protocol):
    async def purge(self, cutoffs: dict[str, datetime], default_cutoff: datetime) -> int:
        """Delete calls that ended before their line's cutoff; returns calls deleted."""
        ...


class LiveCalls(Protocol):
    """Which calls are live now (the supervisor's controls act only on those)."""

    def line_of(self, call_id: str) -> str | None:
        """The live call's line id; None when the call is not live (unknown or ended).

        In memory, so it never waits. Raises ``DependencyUnavailableError`` when what it knows
        is too old to answer.
        """
        ...


class LiveQueries(Protocol):
    """What the live dashboard reads from the call log."""

    async def open_calls(
        self, since: datetime, *, limit: int
    ) -> list[tuple[Envelope, dict[str, Any]]]:
        """The stored, redacted events of the calls started since ``since`` and not ended."""
        ...

    async def kpi_inputs(self, since: datetime) -> KpiInputs:
        """The call log's figures since ``since``, totals and per minute."""
        ...
