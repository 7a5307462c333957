"""What the live dashboard reads from the call log: the calls still open, the last hour's KPIs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.adapters.postgres_tables import call_events, calls, turn_metrics
from services.analytics.domain.live_kpis import KpiInputs
from services.analytics.domain.stats import SQL_BUCKET, DailyRow
from shared.events import Envelope

# Events loaded at start for the open calls (bounded: the newest calls' events first; the
# board keeps 300 items a call anyway, and a call beyond the bound starts with what is left).
MAX_BOOTSTRAP_EVENTS = 200_000


class PostgresLiveQueries:
    """``LiveQueries`` on Postgres."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open_calls(
        self, since: datetime, *, limit: int
    ) -> list[tuple[Envelope, dict[str, Any]]]:
        """The stored (redacted) events of the calls started since ``since`` and not ended (the
        ``limit`` most recent), oldest event first."""
        # By the first event (``ix_calls_seen``): a call's first event is its start, or within
        # moments of it when events arrive out of order.
        open_ids = (
            sa.select(calls.c.call_id)
            .where(calls.c.first_seen_at >= since, calls.c.ended_at.is_(None))
            .order_by(calls.c.first_seen_at.desc())
            .limit(limit)
        )
        query = (
            sa.select(call_events)
            .where(call_events.c.call_id.in_(open_ids.scalar_subquery()))
            .where(call_events.c.occurred_at >= since)
            .order_by(call_events.c.occurred_at)
            .limit(MAX_BOOTSTRAP_EVENTS)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            (
                Envelope(
                    event_id=r["event_id"],
                    type=r["type"],
                    version=r["version"],
                    occurred_at=r["occurred_at"],
                    call_id=r["call_id"],
                    line_id=r["line_id"] or "",
                    source=r["source"],
                ),
                dict(r["payload"] or {}),
            )
            for r in rows
        ]

    async def kpi_inputs(self, since: datetime) -> KpiInputs:
        """The call log's figures since ``since`` (calls by their first event), per minute too."""
        minute = sa.func.date_trunc("minute", calls.c.first_seen_at)
        summary = sa.select(
            sa.func.count().label("calls"),
            sa.func.count(calls.c.ended_at).label("ended"),
            sa.func.count().filter(calls.c.outcome == "contained").label("contained"),
            sa.func.count().filter(calls.c.outcome == "escalated").label("escalated"),
            sa.func.coalesce(sa.func.sum(calls.c.tool_calls), 0).label("tool_calls"),
            sa.func.coalesce(sa.func.sum(calls.c.tool_errors), 0).label("tool_errors"),
        ).where(calls.c.first_seen_at >= since)
        per_minute = (
            sa.select(minute, sa.func.count())
            .where(calls.c.first_seen_at >= since)
            .group_by(minute)
        )
        metric_minute = sa.func.date_trunc("minute", turn_metrics.c.occurred_at)
        bucket: sa.ColumnElement[int] = sa.literal_column(SQL_BUCKET)
        hist = (
            sa.select(metric_minute, bucket, sa.func.count())
            .where(
                turn_metrics.c.occurred_at >= since,
                turn_metrics.c.voice_to_voice_ms.is_not(None),
            )
            .group_by(sa.text("1"), sa.text("2"))
        )
        inputs = KpiInputs()
        async with self._engine.connect() as conn:
            totals = (await conn.execute(summary)).mappings().one()
            inputs.total = DailyRow(day=date.min, line_id="*", **dict(totals))
            for at, count in await conn.execute(per_minute):
                inputs.calls_by_minute[at] = int(count)
            for at, index, count in await conn.execute(hist):
                by_bucket = inputs.v2v_by_minute.setdefault(at, {})
                by_bucket[int(index)] = int(count)
                inputs.total.v2v_hist[int(index)] = inputs.total.v2v_hist.get(int(index), 0) + int(
                    count
                )
        return inputs
