"""Acceptance (a): analytics killed with SIGKILL while 200 calls stream through.

After its restart every call is stored exactly once with all its turns: offsets are committed
only after the database commit, and the event id makes a redelivered event a no-op.
"""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from infra.localstack.infrastructure import free_port
from shared.events import CallEnded, CallStarted, TranscriptAgent, TranscriptUser, new_event
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings
from tests.support.processes import ServiceProcess
from tests.support.waiting import wait_until

CALLS = 200
TURNS = 3  # user + agent each
EVENTS_PER_CALL = 2 + 2 * TURNS


def call_events(call_id: str) -> list:  # type: ignore[type-arg]
    def ev(payload):  # type: ignore[no-untyped-def]
        return new_event(payload, call_id=call_id, source="test", line_id="demo-retail")

    events = [ev(CallStarted(channel="text", line_id="demo-retail"))]
    for n in range(TURNS):
        events.append(ev(TranscriptUser(item_id=f"u{n}", text=f"question {n}")))
        events.append(ev(TranscriptAgent(reply_id=f"r{n}", text=f"answer {n}")))
    events.append(ev(CallEnded(reason="client_ended", duration_s=5.0)))
    return events


async def count_rows(dsn: str, schema: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        try:
            events = await conn.fetchval(f'SELECT count(*) FROM "{schema}".call_events')
        except asyncpg.UndefinedTableError:
            return 0, 0, 0
        calls = await conn.fetchval(
            f'SELECT count(*) FROM "{schema}".calls WHERE ended_at IS NOT NULL '
            "AND started_at IS NOT NULL"
        )
        turns = await conn.fetchval(f'SELECT count(*) FROM "{schema}".turns')
        return events, calls, turns
    finally:
        await conn.close()


@pytest.mark.slow
async def test_analytics_sigkill_mid_stream_loses_and_duplicates_nothing(
    kafka: KafkaSettings, service_env: dict[str, str], db_schema: str, infra, log_dir
) -> None:
    dsn = infra.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    analytics = ServiceProcess("analytics", free_port(), service_env, log_dir).start()
    producer = BufferedProducer(kafka, client_id="stream")
    await producer.start()
    try:
        analytics.wait_ready(60)
        # Interleave the calls' events as live traffic would, in order within each call.
        streams = [call_events(f"sess_crash{n:03d}") for n in range(CALLS)]
        topic = kafka.topic("cc.call-events.v1")
        rng = random.Random(7)
        pending = [s for s in streams]
        sent = 0
        killed_at: int | None = None
        while pending:
            stream = rng.choice(pending)
            assert producer.publish(topic, stream.pop(0))
            sent += 1
            if not stream:
                pending.remove(stream)
            if sent % 50 == 0:
                await asyncio.sleep(0.05)  # about 1000 events/s
            if killed_at is None and sent == CALLS * EVENTS_PER_CALL // 3:
                await producer.flush(10)
                stored = await wait_until(lambda: count_rows(dsn, db_schema), 20)
                killed_at = stored[0]
                analytics.kill()
        await producer.flush(10)
        assert killed_at is not None and 0 < killed_at < CALLS * EVENTS_PER_CALL
        await asyncio.sleep(1)  # traffic kept arriving while analytics was down
        analytics.start()
        analytics.wait_ready(60)
        want = (CALLS * EVENTS_PER_CALL, CALLS, CALLS * 2 * TURNS)
        await wait_until(lambda: _equals(count_rows(dsn, db_schema), want), 60, 0.5)
        got = await count_rows(dsn, db_schema)
        assert got == want, f"(events, complete calls, turns) stored: {got}, want {want}"
        await asyncio.sleep(2)  # nothing more arrives late (no duplicates anywhere)
        assert await count_rows(dsn, db_schema) == want
    finally:
        await producer.close()
        analytics.stop()


async def _equals(counting, want):  # type: ignore[no-untyped-def]
    got = await counting
    return got if got == want else None
