"""The call log's write side in Postgres (SQLAlchemy Core over asyncpg)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.analytics.adapters.postgres_tables import (
    COUNTERS,
    EVENT_TABLES,
    FLOAT_COUNTERS,
    call_events,
    calls,
    daily_stats,
    escalations,
    tool_calls,
)
from services.analytics.domain.call_log import CallLogChange
from services.analytics.domain.stats import day_runs
from shared.db import create_engine, is_outage
from shared.kafka.errors import DependencyUnavailableError

__all__ = ["PostgresCallLog", "create_engine"]

# Days kept in the "partitions exist" cache (a process forgets older ones; re-checking is cheap).
_KNOWN_DAYS_CAP = 400


class PostgresCallLog:
    """``CallLog`` on Postgres; idempotent on the event id (``call_events`` primary key)."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self._engine = engine
        self._schema = schema
        self._days_with_partitions: set[date] = set()

    async def apply_many(self, changes: list[CallLogChange]) -> int:
        if not changes:
            return 0
        try:
            await self.ensure_partitions(c.occurred_at for c in changes)
            async with self._engine.begin() as conn:
                return await _store(conn, changes)
        except Exception as exc:
            if is_outage(exc):
                raise DependencyUnavailableError("database unavailable") from exc
            raise

    async def ensure_partitions(self, moments: Iterable[datetime]) -> int:
        """Create the daily partitions these moments fall in (idempotent, replica-safe)."""
        days = {m.astimezone(UTC).date() for m in moments}
        missing = sorted(days - self._days_with_partitions)
        if not missing:
            return 0
        created = 0
        async with self._engine.begin() as conn:
            # Consecutive runs of days in one call; a far-apart straggler gets its own.
            for first, last in day_runs(missing):
                result = await conn.execute(
                    sa.text(f'SELECT "{self._schema}".ensure_day_partitions(:first, :last)'),
                    {"first": first, "last": last},
                )
                created += int(result.scalar_one())
        if len(self._days_with_partitions) > _KNOWN_DAYS_CAP:
            self._days_with_partitions.clear()
        self._days_with_partitions.update(missing)
        return created

    async def ping(self) -> bool:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True


async def _store(conn: AsyncConnection, changes: list[CallLogChange]) -> int:
    inserted = await conn.execute(
        postgresql.insert(call_events)
        .values([_event_row(c) for c in changes])
        .on_conflict_do_nothing(index_elements=["event_id", "occurred_at"])
        .returning(call_events.c.event_id)
    )
    new_ids = {row[0] for row in inserted}
    fresh: dict[uuid.UUID, CallLogChange] = {}
    for change in changes:  # in order; a redelivered event is not new
        if change.event_id in new_ids:
            fresh.setdefault(change.event_id, change)
    if not fresh:
        return 0
    for statement in _call_upserts(list(fresh.values())):
        await conn.execute(statement)
    by_table: dict[str, list[dict[str, Any]]] = {}
    for change in fresh.values():
        for table, row in change.rows:
            by_table.setdefault(table, []).append(row)
    for table, rows in by_table.items():
        target = escalations if table == "escalations" else EVENT_TABLES[table]
        await conn.execute(postgresql.insert(target).values(rows).on_conflict_do_nothing())
    for statement in _tool_call_upserts(list(fresh.values())):
        await conn.execute(statement)
    today = datetime.now(UTC).date()
    late_days = {d for c in fresh.values() if (d := c.occurred_at.astimezone(UTC).date()) < today}
    if late_days:  # a finished day's figures changed: /v1/stats recomputes its rollup
        await conn.execute(sa.delete(daily_stats).where(daily_stats.c.day.in_(late_days)))
    return len(fresh)


def _event_row(change: CallLogChange) -> dict[str, Any]:
    return {
        "event_id": change.event_id,
        "occurred_at": change.occurred_at,
        "call_id": change.call_id,
        "line_id": change.line_id,
        "type": change.event_type,
        "version": change.version,
        "source": change.source,
        "payload": change.payload,
    }


def _call_upserts(changes: list[CallLogChange]) -> list[postgresql.Insert]:
    """One upsert per call, merging its changes (the result does not depend on their order)."""
    merged: dict[str, dict[str, Any]] = {}
    for change in changes:
        row = merged.setdefault(change.call_id, _blank_call(change))
        row["first_seen_at"] = min(row["first_seen_at"], change.occurred_at)
        row["last_event_at"] = max(row["last_event_at"], change.occurred_at)
        row["line_id"] = change.line_id or row["line_id"]
        row.update(change.call_fields)
        for name, amount in change.counters.items():
            row[name] += amount
        for name, value in change.minimums.items():
            row[name] = value if row[name] is None else min(row[name], value)
        for name, value in change.maximums.items():
            row[name] = value if row[name] is None else max(row[name], value)
        row["tools_used"] = sorted({*row["tools_used"], *change.tools_used})
    return [_call_upsert(row) for row in merged.values()]


def _blank_call(change: CallLogChange) -> dict[str, Any]:
    row: dict[str, Any] = {
        "call_id": change.call_id,
        "line_id": "",
        "first_seen_at": change.occurred_at,
        "last_event_at": change.occurred_at,
        "sentiment_min": None,
        "v2v_max_ms": None,
        "tools_used": [],
    }
    row.update(dict.fromkeys(COUNTERS, 0))
    row.update(dict.fromkeys(FLOAT_COUNTERS, 0.0))
    return row


def _call_upsert(row: dict[str, Any]) -> postgresql.Insert:
    stmt = postgresql.insert(calls).values(**row)
    new = stmt.excluded
    updates: dict[str, Any] = {
        k: new[k] for k in row if k in calls.c and k in _SET_FIELDS and row[k] is not None
    }
    if row["line_id"]:
        updates["line_id"] = new.line_id
    updates["first_seen_at"] = sa.func.least(calls.c.first_seen_at, new.first_seen_at)
    updates["last_event_at"] = sa.func.greatest(calls.c.last_event_at, new.last_event_at)
    for name in (*COUNTERS, *FLOAT_COUNTERS):
        if row[name]:
            updates[name] = calls.c[name] + new[name]
    # least/greatest ignore NULLs, so a first value simply lands.
    updates["sentiment_min"] = sa.func.least(calls.c.sentiment_min, new.sentiment_min)
    updates["v2v_max_ms"] = sa.func.greatest(calls.c.v2v_max_ms, new.v2v_max_ms)
    if row["tools_used"]:
        union = sa.select(sa.func.array_agg(sa.distinct(sa.column("t")))).select_from(
            sa.func.unnest(sa.func.array_cat(calls.c.tools_used, new.tools_used)).alias("t")
        )
        updates["tools_used"] = union.scalar_subquery()
    return stmt.on_conflict_do_update(index_elements=["call_id"], set_=updates)


_SET_FIELDS = frozenset(
    {"channel", "caller", "line_config_hash", "started_at", "ended_at", "end_reason",
     "duration_s"}
)  # fmt: skip


def _tool_call_upserts(changes: list[CallLogChange]) -> list[postgresql.Insert]:
    """A tool call's row, merged from its call and result events in whatever order they came."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        if change.tool_call is None:
            continue
        key = (change.call_id, change.tool_call.tool_call_id)
        row = merged.setdefault(
            key, {"call_id": key[0], "tool_call_id": key[1], "line_id": change.line_id}
        )
        row.update(change.tool_call.fields)
    statements = []
    for row in merged.values():
        stmt = postgresql.insert(tool_calls).values(**row)
        updates = {k: stmt.excluded[k] for k in row if k not in ("call_id", "tool_call_id")}
        statements.append(
            stmt.on_conflict_do_update(index_elements=["call_id", "tool_call_id"], set_=updates)
        )
    return statements
