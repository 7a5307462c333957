"""Scheduled jobs of the analytics service (run by Celery beat + worker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.analytics.settings import AnalyticsSettings


async def purge_expired(settings: AnalyticsSettings, *, now: datetime | None = None) -> int:
    """Delete calls that ended more than ``retention_days`` ago; returns how many."""
    engine = create_engine(settings.postgres, settings.db_schema)
    try:
        cutoff = (now or datetime.now(UTC)) - timedelta(days=settings.retention_days)
        return await PostgresCallLog(engine).purge_before(cutoff)
    finally:
        await engine.dispose()
