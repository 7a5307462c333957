"""Scheduled jobs of the analytics service (run by Celery beat + worker)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.analytics.adapters.postgres_stats import PostgresStats
from services.analytics.settings import AnalyticsSettings
from shared.lines import load_lines

# Days re-rolled each run: yesterday, and the day before for events that arrived late.
ROLLUP_DAYS_BACK = 2
# Daily partitions created ahead of time, so ingestion at midnight never waits on DDL.
PARTITION_DAYS_AHEAD = 3


def retention_cutoffs(settings: AnalyticsSettings, now: datetime) -> dict[str, datetime]:
    """Each configured line's cutoff: calls that ended before it are purged."""
    lines = load_lines(settings.lines_dir)
    return {line_id: now - timedelta(days=line.retention_days) for line_id, line in lines.items()}


async def purge_expired(settings: AnalyticsSettings, *, now: datetime | None = None) -> int:
    """Delete calls past their line's retention (other lines: ``retention_days``)."""
    now = now or datetime.now(UTC)
    engine = create_engine(settings.postgres, settings.db_schema)
    try:
        return await PostgresStats(engine, settings.db_schema).purge(
            retention_cutoffs(settings, now), now - timedelta(days=settings.retention_days)
        )
    finally:
        await engine.dispose()


async def roll_up_days(settings: AnalyticsSettings, *, today: date | None = None) -> dict[str, Any]:
    """Store the rollups of the last finished days and create the partitions of the next ones."""
    today = today or datetime.now(UTC).date()
    engine = create_engine(settings.postgres, settings.db_schema)
    try:
        stats = PostgresStats(engine, settings.db_schema)
        rolled = {}
        for back in range(ROLLUP_DAYS_BACK, 0, -1):
            day = today - timedelta(days=back)
            rolled[day.isoformat()] = await stats.roll_up(day)
        ahead = [
            datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=n)
            for n in range(PARTITION_DAYS_AHEAD + 1)
        ]
        created = await PostgresCallLog(engine, settings.db_schema).ensure_partitions(ahead)
        return {"lines_rolled_up": rolled, "partitions_created": created}
    finally:
        await engine.dispose()
