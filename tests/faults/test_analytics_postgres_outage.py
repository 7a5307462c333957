"""Postgres goes away under a running analytics service, then comes back.

While the database is down the service stops consuming (its readiness says so), commits no
offset past what it stored, and loses nothing: after the database returns it catches up and
every event is stored exactly once.
"""

from __future__ import annotations

import asyncio

import pytest

from infra.localstack.infrastructure import free_port
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings
from tests.faults.test_analytics_crash import EVENTS_PER_CALL, _equals, call_events, count_rows
from tests.support.processes import ServiceProcess, readiness
from tests.support.tcp_proxy import TcpProxy
from tests.support.waiting import wait_until

CALLS = 40


@pytest.mark.slow
async def test_analytics_waits_out_a_database_outage_and_loses_nothing(
    kafka: KafkaSettings, service_env: dict[str, str], db_schema: str, infra, log_dir
) -> None:
    dsn = infra.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    proxy = await TcpProxy("127.0.0.1", 5432).start()
    proxied = infra.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert proxied != infra.database_url
    env = {**service_env, "DATABASE_URL": proxied, "DATABASE_TIMEOUT_S": "2"}
    analytics = ServiceProcess("analytics", free_port(), env, log_dir).start()
    producer = BufferedProducer(kafka, client_id="outage")
    await producer.start()
    topic = kafka.topic("cc.call-events.v1")
    try:
        await asyncio.to_thread(analytics.wait_ready, 90)
        for n in range(CALLS // 2):
            for event in call_events(f"sess_before{n:03d}"):
                assert producer.publish(topic, event)
        await producer.flush(10)
        half = (CALLS // 2 * EVENTS_PER_CALL, CALLS // 2, CALLS // 2 * 6)
        await wait_until(lambda: _equals(count_rows(dsn, db_schema), half), 30, 0.3)

        proxy.cut()
        for n in range(CALLS // 2):
            for event in call_events(f"sess_during{n:03d}"):
                assert producer.publish(topic, event)
        await producer.flush(10)

        async def not_ready() -> dict | None:  # type: ignore[type-arg]
            _, body = await asyncio.to_thread(readiness, analytics.url)
            return body if body["status"] == "not_ready" else None

        body = await wait_until(not_ready, 30, 0.5)
        assert body["checks"]["postgres"] is False
        assert analytics.process is not None and analytics.process.poll() is None  # still up
        assert await count_rows(dsn, db_schema) == half  # nothing stored meanwhile

        proxy.restore()
        want = (CALLS * EVENTS_PER_CALL, CALLS, CALLS * 6)
        await wait_until(lambda: _equals(count_rows(dsn, db_schema), want), 60, 0.5)
        await asyncio.sleep(2)  # and nothing arrives twice later
        assert await count_rows(dsn, db_schema) == want
    finally:
        await producer.close()
        analytics.stop()
        await proxy.close()
