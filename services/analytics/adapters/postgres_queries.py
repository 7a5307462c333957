"""The call log's read side in Postgres: filtered pages, one call's timeline, exports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.adapters.postgres_tables import (
    calls,
    escalations,
    interruptions,
    sentiment,
    tool_calls,
    turn_metrics,
    turns,
)
from services.analytics.domain.queries import CallFilter, Page, decode_cursor, encode_cursor

# Rows an export fetches per round trip from its server-side cursor.
EXPORT_CHUNK = 500
# A call summary as published (name -> column), in the order exports print them. Counters are
# named *_count so they never collide with the timeline's sections in ``get_call``.
_SUMMARY: dict[str, sa.ColumnElement[Any]] = {
    **{name: calls.c[name] for name in (
        "call_id", "line_id", "channel", "first_seen_at", "started_at", "ended_at", "duration_s",
        "end_reason", "outcome", "escalated", "user_turns", "agent_turns", "line_config_hash")},
    "interruption_count": calls.c.interruptions,
    "tool_call_count": calls.c.tool_calls,
    "tool_error_count": calls.c.tool_errors,
    "tool_timeout_count": calls.c.tool_timeouts,
    "escalation_count": calls.c.escalations,
    "fallback_count": calls.c.fallbacks,
    "sentiment_avg": calls.c.sentiment_avg,
    "sentiment_min": calls.c.sentiment_min,
    "v2v_avg_ms": sa.case(
        (calls.c.v2v_count > 0, calls.c.v2v_sum_ms / calls.c.v2v_count), else_=None
    ),
    "v2v_max_ms": calls.c.v2v_max_ms,
    "tools_used": calls.c.tools_used,
}  # fmt: skip
SUMMARY_COLUMNS = tuple(_SUMMARY)
TURN_COLUMNS = ("call_id", "line_id", "occurred_at", "role", "text", "interrupted")


def _summary() -> sa.Select[Any]:
    return sa.select(*(column.label(name) for name, column in _SUMMARY.items()))


def _filtered(query: sa.Select[Any], where: CallFilter) -> sa.Select[Any]:
    if where.since is not None:
        query = query.where(calls.c.first_seen_at >= where.since)
    if where.until is not None:
        query = query.where(calls.c.first_seen_at < where.until)
    for column, value in (
        (calls.c.line_id, where.line_id),
        (calls.c.channel, where.channel),
        (calls.c.escalated, where.escalated),
        (calls.c.outcome, where.outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.sentiment_min is not None:
        query = query.where(calls.c.sentiment_avg >= where.sentiment_min)
    if where.sentiment_max is not None:
        query = query.where(calls.c.sentiment_avg <= where.sentiment_max)
    if where.tool is not None:
        query = query.where(calls.c.tools_used.contains([where.tool]))
    if where.q:
        query = query.where(_matching_turns(where).exists())
    return query


def _matching_turns(where: CallFilter) -> sa.Select[Any]:
    """The call's turns matching the full-text query (web-search syntax: words, "phrases", -not).

    A call's turns come after its first event (``first_seen_at`` is the least ``occurred_at``
    of its events), so ``since`` prunes the turn partitions when the query is planned, and
    ``first_seen_at`` prunes them for each call when the plan walks calls newest first and
    probes their turns: a probe reads a partition or two instead of every day's index.
    """
    match = turns.c.tsv.op("@@")(sa.func.websearch_to_tsquery("english", where.q))
    query = sa.select(sa.literal(1)).where(
        turns.c.call_id == calls.c.call_id, turns.c.occurred_at >= calls.c.first_seen_at, match
    )
    if where.since is not None:
        query = query.where(turns.c.occurred_at >= where.since)
    if where.until is not None:
        # Turns run past the first event by at most a call's length; a day covers any call.
        query = query.where(turns.c.occurred_at < where.until + timedelta(days=1))
    return query


class PostgresCallQueries:
    """``CallQueries`` on Postgres."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list_calls(self, where: CallFilter, *, limit: int, cursor: str | None) -> Page:
        query = _filtered(_summary(), where)
        if cursor is not None:
            seen, call_id = decode_cursor(cursor)
            query = query.where(sa.tuple_(calls.c.first_seen_at, calls.c.call_id) < (seen, call_id))
        query = query.order_by(calls.c.first_seen_at.desc(), calls.c.call_id.desc())
        async with self._engine.connect() as conn:
            rows = [dict(r._mapping) for r in await conn.execute(query.limit(limit + 1))]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            encode_cursor(rows[-1]["first_seen_at"], rows[-1]["call_id"]) if more else None
        )
        return Page(calls=rows, next_cursor=next_cursor)

    async def get_call(self, call_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(_summary().add_columns(calls.c.caller).where(
                    calls.c.call_id == call_id))
            ).first()  # fmt: skip
            if row is None:
                return None
            call = dict(row._mapping)
            sections: dict[str, list[dict[str, Any]]] = {}
            for name, table, columns in _TIMELINE:
                selected = [table.c[c] for c in columns]
                result = await conn.execute(
                    sa.select(*selected)
                    .where(table.c.call_id == call_id)
                    .order_by(table.c[columns[0]])
                )
                sections[name] = [dict(r._mapping) for r in result]
        call.update(sections)
        call["timeline"] = _timeline(sections)
        return call

    async def export_calls(self, where: CallFilter) -> AsyncIterator[dict[str, Any]]:
        query = _filtered(_summary(), where).order_by(calls.c.first_seen_at, calls.c.call_id)
        async for row in self._stream(query):
            yield row

    async def export_turns(self, where: CallFilter) -> AsyncIterator[dict[str, Any]]:
        chosen = _filtered(sa.select(calls.c.call_id), where)
        query = (
            sa.select(*(turns.c[c] for c in TURN_COLUMNS))
            .where(turns.c.call_id.in_(chosen))
            .order_by(turns.c.call_id, turns.c.occurred_at)
        )
        if where.since is not None:
            query = query.where(turns.c.occurred_at >= where.since)
        async for row in self._stream(query):
            yield row

    async def _stream(self, query: sa.Select[Any]) -> AsyncIterator[dict[str, Any]]:
        async with self._engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=EXPORT_CHUNK))
            async for row in result:
                yield dict(row._mapping)


# (section, table, columns: the first one orders the section)
_TIMELINE: tuple[tuple[str, sa.Table, tuple[str, ...]], ...] = (
    ("turns", turns, ("occurred_at", "role", "item_id", "text", "interrupted", "started_ms",
                      "ended_ms")),
    ("tool_calls", tool_calls, ("called_at", "tool_call_id", "name", "executor", "arguments",
                                "status", "duration_ms", "completed_at")),
    ("interruptions", interruptions, ("occurred_at", "reply_id", "played_ms", "kind")),
    ("escalations", escalations, ("occurred_at", "kind", "rule_id", "reasons", "score", "queue",
                                  "agent_id", "target")),
    ("sentiment", sentiment, ("occurred_at", "item_id", "score", "trend")),
    ("metrics", turn_metrics, ("occurred_at", "turn", "stages_ms", "voice_to_voice_ms")),
)  # fmt: skip
_KIND = {
    "turns": "turn", "tool_calls": "tool_call", "interruptions": "interruption",
    "escalations": "escalation", "sentiment": "sentiment", "metrics": "metrics",
}  # fmt: skip


def _timeline(sections: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every entry of every section in time order, each tagged with its ``type``."""
    entries = []
    for name, rows in sections.items():
        for row in rows:
            at = row.get("occurred_at") or row.get("called_at") or row.get("completed_at")
            entries.append({"at": at, "type": _KIND[name], **row})
    entries.sort(key=lambda e: (e["at"] is None, e["at"] or 0))
    return entries
