"""Tool round trip over Kafka and one tools process's throughput (``python -m bench.tools``).

A real tools service process (``python -m services.tools``) on loopback, with the embedded
broker (or ``KAFKA_BOOTSTRAP_SERVERS``) and Postgres. The tool is ``store_info``: validated and
answered from config without I/O, so the figures are the Kafka path's own cost (the no-op tool).

1. Round trip, one command at a time: from the moment a "gateway" hands ``tool.execute`` to
   its producer to the moment its consumer holds the ``tool.completed``; p50/p95/p99.
2. Throughput: ``BURST`` commands published at once; replies per second until the last arrives.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

import asyncpg

from bench.arrivals import Arrivals
from bench.service_process import service_process
from infra.localstack.infrastructure import free_port, resolve
from shared.events import Envelope, ToolExecute, new_event
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings

STATE = Path(__file__).resolve().parents[1] / ".switchboard" / "bench"
ROUND_TRIPS = 500
BURST = 5000


def _command(n: int) -> Envelope:
    payload = ToolExecute(
        tool_call_id=f"tc{n}",
        name="store_info",
        arguments={"topic": "hours"},
        deadline_at=time_after(60),
        reply_to="gw-bench",
    )
    return new_event(payload, call_id=f"sess_bench{n % 64}", line_id="demo-retail", source="bench")


def time_after(seconds: float):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(seconds=seconds)


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def measure(kafka: KafkaSettings) -> dict[str, float]:
    producer = BufferedProducer(kafka, client_id="bench-gateway", buffer_size=BURST + 10)
    await producer.start()
    replies = Arrivals(kafka, "cc.tool-results.v1", lambda e: str(e.payload["tool_call_id"]))
    reader = asyncio.create_task(replies.run())
    topic = kafka.topic("cc.tool-requests.v1")
    try:
        warm = _command(-1)
        producer.publish(topic, warm)
        await replies.wait_count(1, 90)
        trips = []
        for n in range(ROUND_TRIPS):
            command = _command(n)
            started = time.perf_counter()
            producer.publish(topic, command)
            await replies.wait_count(len(replies.arrived) + 1, 30)
            trips.append((replies.arrived[f"tc{n}"] - started) * 1000)
        base = len(replies.arrived)
        commands = [_command(100_000 + n) for n in range(BURST)]
        started = time.perf_counter()
        for command in commands:
            producer.publish(topic, command)
        await replies.wait_count(base + BURST, 600)
        elapsed = max(replies.arrived.values()) - started
    finally:
        reader.cancel()
        await producer.close()
    return {
        "round_trip_p50_ms": _pct(trips, 50),
        "round_trip_p95_ms": _pct(trips, 95),
        "round_trip_p99_ms": _pct(trips, 99),
        "throughput_commands_per_s": BURST / elapsed,
    }


async def main() -> None:
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=STATE, kafka_port=free_port(), database_name="switchboard_bench"
    )
    tag = uuid.uuid4().hex[:6]
    schema = f"bench_tools_{tag}"
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"bt{tag}."
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "TOOLS_DB_SCHEMA": schema,
        "TOOLS_CONSUMER_GROUP": f"bench-tools-{tag}",
        "LOG_LEVEL": "WARNING",
    }
    try:
        await ensure_topics(kafka, load_topic_specs())
        async with service_process("tools", env):
            figures = await measure(kafka)
        print(f"tools ({ROUND_TRIPS} round trips, burst of {BURST}; kafka {infra.notes[0]})")
        for name, value in figures.items():
            print(f"  {name:32} {value:12,.1f}")
    finally:
        dsn = infra.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
        infra.stop()


if __name__ == "__main__":
    asyncio.run(main())
