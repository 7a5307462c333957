"""The analytics call log on a real Postgres: migrations, partitions, idempotency, queries,
stats and rollups, retention, and the read-only analyst role."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.analytics.adapters.alembic_migrations import upgrade_to_head
from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.analytics.adapters.postgres_queries import PostgresCallQueries
from services.analytics.adapters.postgres_stats import PostgresStats
from services.analytics.domain.call_log import change_for
from services.analytics.domain.queries import CallFilter
from services.analytics.domain.stats import summarise
from services.analytics.jobs import purge_expired, roll_up_days
from services.analytics.settings import AnalyticsSettings
from services.tools.seed.loader import plain_dsn
from shared.events import (
    CallEnded,
    CallStarted,
    Envelope,
    EscalationRequested,
    EventPayload,
    Interruption,
    SentimentScored,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
    new_event,
)
from shared.events.registry import DEFAULT_REGISTRY
from shared.kafka.errors import DependencyUnavailableError
from shared.redaction import default_redactor
from shared.settings import PostgresSettings

CARD = "4111 1111 1111 1111"


@dataclass
class Store:
    log: PostgresCallLog
    queries: PostgresCallQueries
    stats: PostgresStats
    engine: AsyncEngine


@pytest.fixture
async def store(postgres: PostgresSettings, db_schema: str) -> AsyncIterator[Store]:
    await upgrade_to_head(postgres, db_schema)
    await upgrade_to_head(postgres, db_schema)  # a second run (another replica) is a no-op
    engine = create_engine(postgres, db_schema)
    yield Store(
        PostgresCallLog(engine, db_schema),
        PostgresCallQueries(engine),
        PostgresStats(engine, db_schema),
        engine,
    )
    await engine.dispose()


def _event(
    call_id: str, at: datetime, payload: EventPayload, line: str = "demo-retail"
) -> Envelope:
    return new_event(payload, call_id=call_id, source="test", line_id=line, occurred_at=at)


def _call(
    call_id: str,
    at: datetime,
    *,
    turns: int = 2,
    line: str = "demo-retail",
    channel: str = "voice_agent",
    words: str = "where is my parcel",
    extras: list[EventPayload] | None = None,
    ended: bool = True,
) -> list[Envelope]:
    events = [
        _event(call_id, at, CallStarted(channel=channel, line_id=line, caller="+1 415 555 0132"),
               line)
    ]  # fmt: skip
    for n in range(turns):
        t = at + timedelta(seconds=2 * n + 1)
        events.append(
            _event(call_id, t, TranscriptUser(item_id=f"i{n}", text=f"{words}, card {CARD}"), line)
        )
        events.append(
            _event(call_id, t + timedelta(seconds=1), TranscriptAgent(reply_id=f"r{n}",
                   text=f"answer {n}"), line)
        )  # fmt: skip
        events.append(
            _event(call_id, t + timedelta(seconds=1), TurnMetrics(turn=n, stages_ms={
                "voice_to_voice": 500.0 + 100 * n}), line)
        )  # fmt: skip
    for n, payload in enumerate(extras or []):
        events.append(_event(call_id, at + timedelta(seconds=2 * turns + n), payload, line))
    if ended:
        events.append(
            _event(call_id, at + timedelta(seconds=30), CallEnded(reason="client_ended",
                   duration_s=30), line)
        )  # fmt: skip
    return events


def _changes(events: list[Envelope]) -> list[Any]:
    redactor = default_redactor()
    return [change_for(e, DEFAULT_REGISTRY.decode(e), redactor=redactor) for e in events]


async def _store(store: Store, events: list[Envelope]) -> int:
    return await store.log.apply_many(_changes(events))


TOOLS: list[EventPayload] = [
    ToolCall(tool_call_id="t1", name="order_status", arguments={"order_id": "ORD-77315",
             "email": "jane.doe@example.com"}, executor="server"),
    ToolResult(tool_call_id="t1", status="ok", duration_ms=42),
    ToolCall(tool_call_id="t2", name="create_return", arguments={}, executor="server"),
    ToolResult(tool_call_id="t2", status="timeout", duration_ms=3000),
    Interruption(reply_id="r0", played_ms=700),
    SentimentScored(item_id="i0", score=-0.7, trend=-0.3),
    EscalationRequested(rule_id="asked_for_person", reasons=["asked for a person"], queue="tier1"),
]  # fmt: skip


async def test_a_call_is_stored_once_whatever_the_order_and_redeliveries(store: Store) -> None:
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    events = _call("sess_one", at, extras=TOOLS)
    # The result before its tool call, call.ended first, and every event twice.
    shuffled = [events[-1], *reversed(events[:-1])]
    assert await _store(store, shuffled + shuffled) == len(events)
    assert await _store(store, events) == 0

    call = await store.queries.get_call("sess_one")

    assert call is not None
    assert call["channel"] == "voice_agent" and call["end_reason"] == "client_ended"
    assert call["started_at"] == at and call["duration_s"] == 30
    assert "555" not in call["caller"]
    assert (call["user_turns"], call["agent_turns"], call["interruption_count"]) == (2, 2, 1)
    assert (call["tool_call_count"], call["tool_error_count"], call["tool_timeout_count"]) == (
        2, 0, 1
    )  # fmt: skip
    assert call["outcome"] == "escalated" and call["escalated"] is True
    assert call["tools_used"] == ["create_return", "order_status"]
    assert call["sentiment_min"] == pytest.approx(-0.7)
    assert call["v2v_avg_ms"] == pytest.approx(550.0) and call["v2v_max_ms"] == 600.0
    assert [(t["role"], t["item_id"]) for t in call["turns"]] == [
        ("user", "i0"), ("agent", "r0"), ("user", "i1"), ("agent", "r1"),
    ]  # fmt: skip
    assert all("4111" not in t["text"] for t in call["turns"])
    tools = {t["tool_call_id"]: t for t in call["tool_calls"]}
    assert tools["t1"]["status"] == "ok" and tools["t1"]["name"] == "order_status"
    assert tools["t1"]["arguments"]["order_id"] == "ORD-77315"
    assert "jane.doe" not in str(tools["t1"]["arguments"])
    assert tools["t2"]["status"] == "timeout" and tools["t2"]["duration_ms"] == 3000
    assert call["escalations"][0]["rule_id"] == "asked_for_person"
    assert len(call["metrics"]) == 2 and len(call["sentiment"]) == 1
    kinds = [e["type"] for e in call["timeline"]]
    assert kinds[0] == "turn" and {"tool_call", "interruption", "escalation"} <= set(kinds)
    moments = [e["at"] for e in call["timeline"]]
    assert moments == sorted(moments)


async def test_events_land_in_daily_partitions(store: Store, db_schema: str) -> None:
    first = datetime(2026, 10, 30, 23, 59, 57, tzinfo=UTC)
    await _store(store, _call("sess_midnight", first, turns=3))  # runs past midnight UTC

    async with store.engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT tableoid::regclass::text, count(*) "
            f'FROM "{db_schema}".turns GROUP BY 1 ORDER BY 1'
        )
        partitions = dict(rows.all())
    assert partitions == {
        f"{db_schema}.turns_20261030": 2,
        f"{db_schema}.turns_20261031": 4,
    }


async def test_listing_filters_searches_and_pages_with_a_cursor(store: Store) -> None:
    base = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    for n in range(5):
        await _store(store, _call(f"sess_list{n}", base + timedelta(minutes=n), turns=1))
    refund = "I want a refund for the headphones"
    later = base + timedelta(minutes=10)
    await _store(store, _call("sess_refund", later, channel="twilio", words=refund, extras=TOOLS))
    await _store(store, _call("sess_other", base, line="other-line", ended=False))

    async def ids(where: CallFilter, limit: int = 50) -> list[str]:
        page = await store.queries.list_calls(where, limit=limit, cursor=None)
        return [c["call_id"] for c in page.calls]

    newest_first = await ids(CallFilter(line_id="demo-retail"))
    assert newest_first == ["sess_refund", *(f"sess_list{n}" for n in range(4, -1, -1))]
    assert await ids(CallFilter(q="refund headphones")) == ["sess_refund"]
    assert await ids(CallFilter(q="refunds")) == ["sess_refund"]  # stemmed
    assert await ids(CallFilter(q="refund -headphones")) == []
    assert await ids(CallFilter(channel="twilio")) == ["sess_refund"]
    assert await ids(CallFilter(escalated=True)) == ["sess_refund"]
    assert await ids(CallFilter(tool="create_return")) == ["sess_refund"]
    assert await ids(CallFilter(sentiment_max=-0.5)) == ["sess_refund"]
    assert await ids(CallFilter(outcome="in_progress")) == ["sess_other"]
    assert len(await ids(CallFilter(outcome="contained"))) == 5
    window = CallFilter(since=base + timedelta(minutes=3), until=base + timedelta(minutes=10))
    assert await ids(window) == ["sess_list4", "sess_list3"]

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await store.queries.list_calls(CallFilter(), limit=3, cursor=cursor)
        seen += [c["call_id"] for c in page.calls]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 7 and len(set(seen)) == 7


async def test_exports_stream_every_matching_call_and_turn(store: Store) -> None:
    base = datetime(2026, 11, 4, 8, 0, tzinfo=UTC)
    for n in range(3):
        await _store(store, _call(f"sess_exp{n}", base + timedelta(minutes=n), turns=2))

    calls = [c async for c in store.queries.export_calls(CallFilter(since=base))]
    turns = [t async for t in store.queries.export_turns(CallFilter(since=base))]

    assert [c["call_id"] for c in calls] == ["sess_exp0", "sess_exp1", "sess_exp2"]
    assert len(turns) == 12 and all("4111" not in t["text"] for t in turns)


async def test_stats_from_rollups_equal_stats_computed_live(store: Store, db_schema: str) -> None:
    day = date(2026, 11, 5)
    base = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    await _store(store, _call("sess_s1", base, turns=2))
    await _store(store, _call("sess_s2", base, turns=2, extras=TOOLS))
    await _store(store, _call("sess_s3", base, turns=0))  # the caller never spoke
    await _store(store, _call("sess_s4", base, line="other-line", ended=False))

    # Read as "today" (computed live, not stored), then rolled up by the job and read again.
    live = summarise(await store.stats.daily(day, day, line_id=None, today=day))
    assert await store.stats.roll_up(day) == 2
    rolled = summarise(await store.stats.daily(day, day, line_id=None, today=day))

    assert rolled == live
    total = live["total"]
    assert (total["calls"], total["ended"], total["contained"]) == (4, 3, 1)
    assert (total["escalated"], total["abandoned"]) == (1, 1)
    assert total["containment_rate"] == 0.5 and total["escalation_rate"] == pytest.approx(0.3333)
    assert total["average_handle_time_s"] == 30.0
    assert total["tool_calls"] == 2 and total["tool_timeout_rate"] == 0.5
    # Six turns at 500 ms and 600 ms: the p50 bucket holds 500, the p95 bucket holds 600.
    assert 500 <= total["voice_to_voice_p50_ms"] <= 550
    assert 600 <= total["voice_to_voice_p95_ms"] <= 660
    assert [r["line_id"] for r in live["by_line"]] == ["demo-retail", "other-line"]
    # The beat job's body rolls up the two finished days before "today".
    settings = AnalyticsSettings(ANALYTICS_DB_SCHEMA=db_schema, postgres=store_postgres(store))
    result = await roll_up_days(settings, today=day + timedelta(days=1))
    assert result["lines_rolled_up"]["2026-11-05"] == 2


async def test_a_finished_day_is_rolled_up_when_read_and_redone_after_a_late_event(
    store: Store, db_schema: str
) -> None:
    day = date(2026, 11, 7)
    base = datetime(2026, 11, 7, 10, 0, tzinfo=UTC)
    await _store(store, _call("sess_r1", base))

    async def stored_days() -> list[Any]:
        async with store.engine.connect() as conn:
            rows = await conn.exec_driver_sql(
                f'SELECT day, calls FROM "{db_schema}".daily_stats ORDER BY 1'
            )
            return [tuple(r) for r in rows]

    today = day + timedelta(days=3)
    first = summarise(await store.stats.daily(day, day, line_id=None, today=today))
    assert first["total"]["calls"] == 1
    assert await stored_days() == [(day, 1)]  # read through: rolled up on the way
    # Today is never stored: it is still changing.
    await store.stats.daily(today, today, line_id=None, today=today)
    assert await stored_days() == [(day, 1)]

    await _store(store, _call("sess_r2", base + timedelta(hours=1)))  # arrives late
    assert await stored_days() == []
    again = summarise(await store.stats.daily(day, day, line_id="demo-retail", today=today))
    assert again["total"]["calls"] == 2 and await stored_days() == [(day, 2)]


def store_postgres(store: Store) -> PostgresSettings:
    return PostgresSettings(DATABASE_URL=store.engine.url.render_as_string(hide_password=False))


async def test_retention_follows_each_lines_days_and_drops_old_partitions(
    store: Store, db_schema: str, tmp_path: Any
) -> None:
    now = datetime.now(UTC)
    lines = tmp_path / "lines"
    lines.mkdir()
    (tmp_path / "tools").mkdir()
    (lines / "short-line.yaml").write_text("line_id: short-line\nname: Short\nretention_days: 7\n")
    await _store(store, _call("sess_short_old", now - timedelta(days=10), line="short-line"))
    await _store(store, _call("sess_short_new", now - timedelta(days=2), line="short-line"))
    await _store(store, _call("sess_default_old", now - timedelta(days=100), line="x"))
    await _store(store, _call("sess_default_new", now - timedelta(days=10), line="x"))
    settings = AnalyticsSettings(
        ANALYTICS_DB_SCHEMA=db_schema,
        ANALYTICS_RETENTION_DAYS=90,
        LINES_DIR=str(lines),
        postgres=store_postgres(store),
    )

    assert await purge_expired(settings, now=now) == 2  # the Celery beat job's body

    for gone in ("sess_short_old", "sess_default_old"):
        assert await store.queries.get_call(gone) is None
    for kept in ("sess_short_new", "sess_default_new"):
        call = await store.queries.get_call(kept)
        assert call is not None and len(call["turns"]) == 4
    old_day = (now - timedelta(days=100)).strftime("%Y%m%d")
    async with store.engine.connect() as conn:
        left = await conn.exec_driver_sql(
            f"SELECT to_regclass('{db_schema}.turns_{old_day}') IS NULL"
        )
        assert left.scalar_one() is True  # older than every line's retention: dropped


async def test_the_analyst_role_reads_views_but_not_tables(
    store: Store, postgres: PostgresSettings, db_schema: str
) -> None:
    await _store(store, _call("sess_view", datetime(2026, 11, 6, tzinfo=UTC)))
    dsn = postgres.url.get_secret_value().replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL ROLE switchboard_analyst")
            rows = await conn.fetch(f'SELECT call_id, outcome FROM "{db_schema}".v_calls')
            assert [tuple(r) for r in rows] == [("sess_view", "contained")]
            turns = await conn.fetch(f'SELECT text FROM "{db_schema}".v_turns')
            assert len(turns) == 4 and all("4111" not in r["text"] for r in turns)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f'SELECT caller FROM "{db_schema}".calls')
    finally:
        await conn.close()


async def test_a_database_that_is_not_there_is_reported_as_an_outage(db_schema: str) -> None:
    nowhere = PostgresSettings(
        DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none", DATABASE_TIMEOUT_S=1
    )
    engine = create_engine(nowhere, db_schema)
    events = _call(f"sess_{uuid.uuid4().hex}", datetime.now(UTC))[:1]
    with pytest.raises(DependencyUnavailableError):
        await PostgresCallLog(engine, db_schema).apply_many(_changes(events))
    await engine.dispose()


async def test_the_migration_goes_back_to_0001_keeping_calls_turns_and_events(
    store: Store, postgres: PostgresSettings, db_schema: str
) -> None:
    from alembic import command

    from services.analytics.adapters.alembic_migrations import alembic_config

    events = _call("sess_down", datetime(2026, 11, 8, 9, tzinfo=UTC), extras=TOOLS)
    await _store(store, events)
    config = alembic_config(postgres, db_schema)
    await store.engine.dispose()

    await asyncio.to_thread(command.downgrade, config, "0001")
    conn = await asyncpg.connect(plain_dsn(postgres))
    try:
        counts = await conn.fetchrow(
            f'SELECT (SELECT count(*) FROM "{db_schema}".calls) AS calls, '
            f'(SELECT count(*) FROM "{db_schema}".turns) AS turns, '
            f'(SELECT count(*) FROM "{db_schema}".call_events) AS events'
        )
    finally:
        await conn.close()
    assert tuple(counts) == (1, 4, len(events))

    await upgrade_to_head(postgres, db_schema)  # and forward again, rows carried over
    call = await store.queries.get_call("sess_down")
    assert call is not None and call["user_turns"] == 2 and len(call["turns"]) == 4
