"""The call log in Postgres (SQLAlchemy Core over asyncpg)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.domain.call_log import CallLogChange
from shared.db import create_engine, is_outage
from shared.kafka.errors import DependencyUnavailableError

__all__ = ["PostgresCallLog", "create_engine"]

metadata = sa.MetaData()

call_events = sa.Table(
    "call_events",
    metadata,
    sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("call_id", sa.Text),
    sa.Column("type", sa.Text),
    sa.Column("version", sa.Integer),
    sa.Column("occurred_at", sa.DateTime(timezone=True)),
    sa.Column("source", sa.Text),
    sa.Column("payload", postgresql.JSONB),
)
calls = sa.Table(
    "calls",
    metadata,
    sa.Column("call_id", sa.Text, primary_key=True),
    sa.Column("line_id", sa.Text),
    sa.Column("channel", sa.Text),
    sa.Column("caller", sa.Text),
    sa.Column("line_config_hash", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("ended_at", sa.DateTime(timezone=True)),
    sa.Column("end_reason", sa.Text),
    sa.Column("duration_s", sa.Float),
    sa.Column("first_seen_at", sa.DateTime(timezone=True)),
)
turns = sa.Table(
    "turns",
    metadata,
    sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
    sa.Column("call_id", sa.Text),
    sa.Column("role", sa.Text),
    sa.Column("item_id", sa.Text),
    sa.Column("text", sa.Text),
    sa.Column("interrupted", sa.Boolean),
    sa.Column("started_ms", sa.BigInteger),
    sa.Column("ended_ms", sa.BigInteger),
    sa.Column("occurred_at", sa.DateTime(timezone=True)),
)


class PostgresCallLog:
    """``CallLog`` on Postgres; idempotent on the event id (``call_events`` primary key)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def apply(self, change: CallLogChange) -> bool:
        return await self.apply_many([change]) == 1

    async def apply_many(self, changes: list[CallLogChange]) -> int:
        fresh: dict[uuid.UUID, CallLogChange] = {}
        try:
            async with self._engine.begin() as conn:
                inserted = await conn.execute(
                    postgresql.insert(call_events)
                    .values([_event_row(c) for c in changes])
                    .on_conflict_do_nothing(index_elements=["event_id"])
                    .returning(call_events.c.event_id)
                )
                new_ids = {row[0] for row in inserted}
                for change in changes:  # in order; a redelivered event is not new
                    if change.event_id in new_ids:
                        fresh.setdefault(change.event_id, change)
                for statement in _call_upserts(list(fresh.values())):
                    await conn.execute(statement)
                turn_rows = [vars(c.turn) for c in fresh.values() if c.turn is not None]
                if turn_rows:
                    await conn.execute(sa.insert(turns).values(turn_rows))
        except Exception as exc:
            if is_outage(exc):
                raise DependencyUnavailableError("database unavailable") from exc
            raise
        return len(fresh)

    async def get_call(self, call_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(calls).where(calls.c.call_id == call_id))).first()
            if row is None:
                return None
            turn_rows = await conn.execute(
                sa.select(turns)
                .where(turns.c.call_id == call_id)
                .order_by(turns.c.occurred_at, turns.c.event_id)
            )
            call = dict(row._mapping)
            call["turns"] = [dict(t._mapping) for t in turn_rows]
            return call

    async def list_calls(
        self, *, line_id: str | None, since: datetime | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        turn_count = (
            sa.select(sa.func.count())
            .where(turns.c.call_id == calls.c.call_id)
            .scalar_subquery()
            .label("turn_count")
        )
        query = sa.select(calls, turn_count)
        if line_id:
            query = query.where(calls.c.line_id == line_id)
        if since:
            query = query.where(calls.c.first_seen_at >= since)
        query = query.order_by(calls.c.first_seen_at.desc()).limit(limit).offset(offset)
        async with self._engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def purge_before(self, cutoff: datetime) -> int:
        async with self._engine.begin() as conn:
            ids = sa.select(calls.c.call_id).where(calls.c.ended_at < cutoff).scalar_subquery()
            await conn.execute(sa.delete(turns).where(turns.c.call_id.in_(ids)))
            await conn.execute(sa.delete(call_events).where(call_events.c.call_id.in_(ids)))
            result = await conn.execute(sa.delete(calls).where(calls.c.ended_at < cutoff))
            return int(result.rowcount or 0)

    async def ping(self) -> bool:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True


def _event_row(change: CallLogChange) -> dict[str, Any]:
    return {
        "event_id": change.event_id,
        "call_id": change.call_id,
        "type": change.event_type,
        "version": change.version,
        "occurred_at": change.occurred_at,
        "source": change.source,
        "payload": change.payload,
    }


def _call_upserts(changes: list[CallLogChange]) -> list[postgresql.Insert]:
    """One upsert per call, merging its changes in order (order-independent in the result)."""
    merged: dict[str, dict[str, Any]] = {}
    for change in changes:
        row = merged.setdefault(
            change.call_id,
            {"call_id": change.call_id, "line_id": "", "first_seen_at": change.occurred_at},
        )
        row["first_seen_at"] = min(row["first_seen_at"], change.occurred_at)
        row["line_id"] = change.line_id or row["line_id"]
        row.update(change.call_fields)
    statements: list[postgresql.Insert] = []
    for row in merged.values():
        stmt = postgresql.insert(calls).values(**row)
        updates: dict[str, Any] = {
            k: stmt.excluded[k] for k in row if k not in ("call_id", "line_id", "first_seen_at")
        }
        if row["line_id"]:
            updates["line_id"] = stmt.excluded.line_id
        updates["first_seen_at"] = sa.func.least(calls.c.first_seen_at, stmt.excluded.first_seen_at)
        statements.append(stmt.on_conflict_do_update(index_elements=["call_id"], set_=updates))
    return statements
