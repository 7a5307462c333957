"""Daily figures in Postgres: live from the call log, rolled up for finished days; retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.analytics.adapters.postgres_tables import (
    EVENT_TABLES,
    call_events,
    calls,
    daily_stats,
    escalations,
    tool_calls,
    turn_metrics,
)
from services.analytics.domain.stats import SQL_BUCKET, DailyRow, day_runs

_DAY = sa.func.date(sa.func.timezone("UTC", calls.c.first_seen_at))


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class PostgresStats:
    """``StatsStore`` and ``Retention`` on Postgres."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self._engine = engine
        self._schema = schema

    async def daily(
        self, first: date, last: date, *, line_id: str | None, today: date | None = None
    ) -> list[DailyRow]:
        """Rows for ``first..last``: stored rollups where present, the other days live.

        A finished day (before ``today``, UTC) read without a rollup is rolled up on the way, so
        the next read of it is cheap; ingestion deletes the rollup of a day that gets a late
        event, and the hourly job redoes the last two days.
        """
        today = today or datetime.now(UTC).date()
        async with self._engine.connect() as conn:
            query = sa.select(daily_stats).where(daily_stats.c.day.between(first, last))
            stored = [_from_rollup(r._mapping) for r in await conn.execute(query)]
            rolled = {r.day for r in stored}
            missing = [
                first + timedelta(days=n)
                for n in range((last - first).days + 1)
                if first + timedelta(days=n) not in rolled
            ]
            finished: list[DailyRow] = []
            for start, end in day_runs([d for d in missing if d < today]):
                finished.extend(await _live(conn, start, end, None))
            current: list[DailyRow] = []
            for start, end in day_runs([d for d in missing if d >= today]):
                current.extend(await _live(conn, start, end, line_id))
        if finished:
            await self._save(finished)
        rows = stored + finished
        if line_id is not None:
            rows = [r for r in rows if r.line_id == line_id]
        return rows + current

    async def _save(self, rows: list[DailyRow]) -> None:
        """Store rollups (a concurrent reader may store the same day: the last one wins)."""
        stmt = postgresql.insert(daily_stats).values([_to_rollup(r) for r in rows])
        columns = [c.name for c in daily_stats.c if c.name not in ("day", "line_id")]
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", "line_id"], set_={c: stmt.excluded[c] for c in columns}
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def roll_up(self, day: date) -> int:
        """Store ``day``'s figures (replacing an earlier rollup of it); lines with calls."""
        async with self._engine.begin() as conn:
            rows = await _live(conn, day, day, None)
            await conn.execute(sa.delete(daily_stats).where(daily_stats.c.day == day))
            if rows:
                await conn.execute(
                    postgresql.insert(daily_stats).values([_to_rollup(r) for r in rows])
                )
            return len(rows)

    async def purge(self, cutoffs: dict[str, datetime], default_cutoff: datetime) -> int:
        """Delete calls that ended before their line's cutoff, then drop partitions older than
        every cutoff."""
        deleted = 0
        async with self._engine.begin() as conn:
            known = list(cutoffs)
            for line_id, cutoff in [*cutoffs.items(), (None, default_cutoff)]:
                # A call whose end never arrived expires by its last event.
                last = sa.func.coalesce(calls.c.ended_at, calls.c.last_event_at)
                doomed = sa.select(calls.c.call_id).where(last < cutoff)
                if line_id is None:
                    doomed = doomed.where(calls.c.line_id.not_in(known)) if known else doomed
                else:
                    doomed = doomed.where(calls.c.line_id == line_id)
                deleted += await _delete_calls(conn, doomed.scalar_subquery(), cutoff)
            oldest = min([default_cutoff, *cutoffs.values()])
            await self._drop_partitions_before(conn, oldest - timedelta(days=1))
        return deleted

    async def _drop_partitions_before(self, conn: AsyncConnection, moment: datetime) -> None:
        """Partitions wholly older than every line's retention hold nothing still kept."""
        result = await conn.execute(
            sa.text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n "
                "ON n.oid = p.relnamespace WHERE n.nspname = :schema AND p.relname = ANY(:parents)"
            ),
            {"schema": self._schema, "parents": [call_events.name, *EVENT_TABLES]},
        )
        limit = moment.astimezone(UTC).strftime("%Y%m%d")
        for (name,) in result:
            suffix = name.rsplit("_", 1)[-1]
            if suffix.isdigit() and len(suffix) == 8 and suffix < limit:
                await conn.execute(sa.text(f'DROP TABLE "{self._schema}"."{name}"'))


async def _delete_calls(conn: AsyncConnection, call_ids: Any, cutoff: datetime) -> int:
    # Every row of a call that ended before the cutoff happened before it too (prunes partitions).
    for table in (call_events, *EVENT_TABLES.values()):
        await conn.execute(
            sa.delete(table).where(table.c.call_id.in_(call_ids), table.c.occurred_at < cutoff)
        )
    for table in (tool_calls, escalations):
        await conn.execute(sa.delete(table).where(table.c.call_id.in_(call_ids)))
    result = await conn.execute(sa.delete(calls).where(calls.c.call_id.in_(call_ids)))
    return int(result.rowcount or 0)


async def _live(
    conn: AsyncConnection, first: date, last: date, line_id: str | None
) -> list[DailyRow]:
    """Per-day, per-line figures computed from the call log itself."""
    since, until = _start(first), _start(last + timedelta(days=1))
    summary = sa.select(
        _DAY.label("day"),
        calls.c.line_id,
        sa.func.count().label("calls"),
        sa.func.count(calls.c.ended_at).label("ended"),
        sa.func.count().filter(calls.c.outcome == "contained").label("contained"),
        sa.func.count().filter(calls.c.outcome == "escalated").label("escalated"),
        sa.func.count().filter(calls.c.outcome == "abandoned").label("abandoned"),
        sa.func.coalesce(
            sa.func.sum(calls.c.duration_s).filter(calls.c.ended_at.is_not(None)), 0.0
        ).label("handle_time_sum_s"),
        sa.func.sum(calls.c.tool_calls).label("tool_calls"),
        sa.func.sum(calls.c.tool_errors).label("tool_errors"),
        sa.func.sum(calls.c.tool_timeouts).label("tool_timeouts"),
    ).where(calls.c.first_seen_at >= since, calls.c.first_seen_at < until)
    metric_day = sa.func.date(sa.func.timezone("UTC", turn_metrics.c.occurred_at))
    bucket: sa.ColumnElement[int] = sa.literal_column(SQL_BUCKET)
    hist = sa.select(
        metric_day.label("day"), turn_metrics.c.line_id, bucket.label("bucket"), sa.func.count()
    ).where(
        turn_metrics.c.occurred_at >= since,
        turn_metrics.c.occurred_at < until,
        turn_metrics.c.voice_to_voice_ms.is_not(None),
    )
    if line_id is not None:
        summary = summary.where(calls.c.line_id == line_id)
        hist = hist.where(turn_metrics.c.line_id == line_id)
    rows: dict[tuple[date, str], DailyRow] = {}
    for r in await conn.execute(summary.group_by(sa.text("1"), calls.c.line_id)):
        values: dict[str, Any] = {k: (v if v is not None else 0) for k, v in r._mapping.items()}
        rows[(values["day"], values["line_id"])] = DailyRow(**values)
    for day, line, index, count in await conn.execute(
        hist.group_by(sa.text("1"), turn_metrics.c.line_id, sa.text("3"))
    ):
        row = rows.setdefault((day, line), DailyRow(day=day, line_id=line))
        row.v2v_hist[int(index)] = int(count)
    return list(rows.values())


def _from_rollup(mapping: Any) -> DailyRow:
    values = {k: mapping[k] for k in mapping.keys() if k != "computed_at"}
    values["v2v_hist"] = {int(k): int(v) for k, v in (values["v2v_hist"] or {}).items()}
    return DailyRow(**values)


def _to_rollup(row: DailyRow) -> dict[str, Any]:
    values = dict(vars(row))
    values["v2v_hist"] = {str(k): v for k, v in row.v2v_hist.items()}
    return values
