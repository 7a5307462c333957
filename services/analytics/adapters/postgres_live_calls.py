"""``LiveCalls`` from the call log in Postgres: the open calls, re-read every second.

A call is live when it started within the last 4 h and has no ``ended_at``. The answer is a
snapshot in memory (``line_of`` never waits), refreshed by one owned task; the dashboard's
``LiveBoard``, fed by the call events themselves, answers sooner where it runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.adapters.postgres_tables import calls
from shared.kafka.errors import DependencyUnavailableError

log = logging.getLogger(__name__)

# A call that started longer ago than this without ending is a ghost (a gateway died), not live.
LIVE_WINDOW = timedelta(hours=4)
# Open calls remembered, newest first; beyond it the oldest are not controllable (404), which
# bounds memory and the query however many ghosts pile up.
MAX_LIVE_CALLS = 10_000
REFRESH_S = 1.0
# A snapshot older than this (the database is away) answers nothing: 503, not a stale guess.
STALE_AFTER_S = 30.0


class PostgresLiveCalls:
    """The open calls of the call log, as one refreshed snapshot."""

    def __init__(self, engine: AsyncEngine, *, refresh_s: float = REFRESH_S) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._lines: dict[str, str] = {}
        self._read_at: float | None = None

    def line_of(self, call_id: str) -> str | None:
        if self._read_at is None or time.monotonic() - self._read_at > STALE_AFTER_S:
            raise DependencyUnavailableError("the open calls could not be read from Postgres")
        return self._lines.get(call_id)

    async def refresh(self) -> int:
        """Read the open calls now; returns how many there are."""
        since = datetime.now(UTC) - LIVE_WINDOW
        query = (
            sa.select(calls.c.call_id, calls.c.line_id)
            .where(calls.c.started_at >= since, calls.c.ended_at.is_(None))
            .order_by(calls.c.started_at.desc())
            .limit(MAX_LIVE_CALLS)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        self._lines = {row.call_id: row.line_id or "" for row in rows}
        self._read_at = time.monotonic()
        if len(rows) >= MAX_LIVE_CALLS:
            log.warning("open calls at the bound", extra={"bound": MAX_LIVE_CALLS})
        return len(rows)

    async def run(self) -> None:
        """Refresh until cancelled; a failed read keeps the last snapshot (until it is stale)."""
        failures = 0
        while True:
            try:
                await self.refresh()
                failures = 0
            except Exception:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    log.warning("open calls not refreshed", extra={"failures": failures})
            await asyncio.sleep(self._refresh_s)
