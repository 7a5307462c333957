"""The analytics call log on a real Postgres: migrations, idempotency, reads, retention."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.adapters.alembic_migrations import upgrade_to_head
from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.analytics.domain.call_log import change_for
from services.analytics.jobs import purge_expired
from services.analytics.settings import AnalyticsSettings
from shared.events import CallEnded, CallStarted, TranscriptAgent, TranscriptUser, new_event
from shared.kafka.errors import DependencyUnavailableError
from shared.settings import PostgresSettings


@pytest.fixture
async def call_log(postgres: PostgresSettings, db_schema: str) -> AsyncIterator[PostgresCallLog]:
    await upgrade_to_head(postgres, db_schema)
    await upgrade_to_head(postgres, db_schema)  # a second run (another replica) is a no-op
    engine = create_engine(postgres, db_schema)
    yield PostgresCallLog(engine)
    await engine.dispose()


def _call(call_id: str, at: datetime, turns: int = 2) -> list:  # type: ignore[type-arg]
    events = [
        new_event(
            CallStarted(channel="voice_agent", line_id="demo-retail", caller="+1 415 555 0132"),
            call_id=call_id,
            source="test",
            line_id="demo-retail",
            occurred_at=at,
        )
    ]
    for n in range(turns):
        events.append(
            new_event(
                TranscriptUser(item_id=f"i{n}", text=f"my card is 4111 1111 1111 111{n}"),
                call_id=call_id,
                source="test",
                line_id="demo-retail",
                occurred_at=at + timedelta(seconds=2 * n + 1),
            )
        )
        events.append(
            new_event(
                TranscriptAgent(reply_id=f"r{n}", text=f"answer {n}"),
                call_id=call_id,
                source="test",
                line_id="demo-retail",
                occurred_at=at + timedelta(seconds=2 * n + 2),
            )
        )
    events.append(
        new_event(
            CallEnded(reason="client_ended", duration_s=10),
            call_id=call_id,
            source="test",
            line_id="demo-retail",
            occurred_at=at + timedelta(seconds=10),
        )
    )
    return events


async def _store(call_log: PostgresCallLog, events: list) -> list[bool]:  # type: ignore[type-arg]
    from shared.events.registry import DEFAULT_REGISTRY

    return [await call_log.apply(change_for(e, DEFAULT_REGISTRY.decode(e))) for e in events]


async def test_a_call_is_stored_once_with_its_turns_in_order(call_log: PostgresCallLog) -> None:
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    events = _call("sess_one", at)
    # Out of order (call.ended first) and redelivered: the result is the same.
    assert await _store(call_log, [events[-1], *events[:-1]]) == [True] * len(events)
    assert await _store(call_log, events) == [False] * len(events)
    call = await call_log.get_call("sess_one")
    assert call is not None
    assert call["channel"] == "voice_agent" and call["end_reason"] == "client_ended"
    assert call["started_at"] == at and call["duration_s"] == 10
    assert call["caller"] == "[PHONE]"
    assert [(t["role"], t["item_id"]) for t in call["turns"]] == [
        ("user", "i0"),
        ("agent", "r0"),
        ("user", "i1"),
        ("agent", "r1"),
    ]
    assert all("4111" not in t["text"] for t in call["turns"])


async def test_listing_filters_and_pages(call_log: PostgresCallLog) -> None:
    base = datetime(2026, 11, 2, tzinfo=UTC)
    for n in range(5):
        await _store(call_log, _call(f"sess_list{n}", base + timedelta(minutes=n), turns=1))
    page = await call_log.list_calls(line_id="demo-retail", since=None, limit=2, offset=0)
    assert [c["call_id"] for c in page] == ["sess_list4", "sess_list3"]
    assert page[0]["turn_count"] == 2
    later = await call_log.list_calls(
        line_id=None, since=base + timedelta(minutes=3), limit=10, offset=0
    )
    assert {c["call_id"] for c in later} == {"sess_list3", "sess_list4"}
    assert await call_log.list_calls(line_id="other", since=None, limit=10, offset=0) == []


async def test_retention_purges_only_expired_calls(
    call_log: PostgresCallLog, postgres: PostgresSettings, db_schema: str
) -> None:
    now = datetime.now(UTC)
    await _store(call_log, _call("sess_old", now - timedelta(days=100)))
    await _store(call_log, _call("sess_new", now - timedelta(days=1)))
    settings = AnalyticsSettings(
        ANALYTICS_DB_SCHEMA=db_schema, ANALYTICS_RETENTION_DAYS=90, postgres=postgres
    )
    assert await purge_expired(settings) == 1  # the Celery beat job's body
    assert await call_log.get_call("sess_old") is None
    assert await call_log.get_call("sess_new") is not None


async def test_a_database_that_is_not_there_is_reported_as_an_outage(db_schema: str) -> None:
    nowhere = PostgresSettings(
        DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:1/none", DATABASE_TIMEOUT_S=1
    )
    engine = create_engine(nowhere, db_schema)
    event = _call(f"sess_{uuid.uuid4().hex}", datetime.now(UTC))[0]
    with pytest.raises(DependencyUnavailableError):
        await _store(PostgresCallLog(engine), [event])
    await engine.dispose()


async def test_a_batch_is_one_transaction_and_redeliveries_inside_it_are_skipped(
    call_log: PostgresCallLog,
) -> None:
    from shared.events.registry import DEFAULT_REGISTRY

    at = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    events = _call("sess_batch", at, turns=3) + _call("sess_batch2", at, turns=1)
    events = [events[4], *events, events[0]]  # duplicates, call.ended before call.started
    changes = [change_for(e, DEFAULT_REGISTRY.decode(e)) for e in events]
    assert await call_log.apply_many(changes) == len(events) - 2
    assert await call_log.apply_many(changes) == 0
    call = await call_log.get_call("sess_batch")
    assert call is not None and call["started_at"] == at and call["end_reason"] == "client_ended"
    assert len(call["turns"]) == 6
    other = await call_log.get_call("sess_batch2")
    assert other is not None and len(other["turns"]) == 2
