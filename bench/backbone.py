"""Benchmarks of the event backbone on this machine (``make bench``).

1. ``publish()`` cost on the caller's task (the audio path's price per event), p50/p99.
2. Producer throughput to the broker with acks=all (records/s until all are acknowledged).
3. Consumer-runner throughput with a no-op handler (records/s, commit per batch).
4. Analytics ingestion: events/s from the topic into Postgres, redaction included.

Infrastructure is found or started by the same rules as ``make up`` (an embedded broker of its
own on a free port unless ``KAFKA_BOOTSTRAP_SERVERS`` is set).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path

import asyncpg

from infra.localstack.infrastructure import free_port, resolve
from services.analytics.adapters.alembic_migrations import upgrade_to_head
from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.analytics.domain.call_log import CallerMemory
from services.analytics.handlers import handle_call_events
from shared.events import TranscriptUser, new_event
from shared.kafka.consumer import ConsumedEvent, ConsumerRunner
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.redaction import default_redactor
from shared.settings import KafkaSettings, PostgresSettings

STATE = Path(__file__).resolve().parents[1] / ".switchboard" / "bench"
EVENTS = 20_000
TOPIC = "cc.call-events.v1"


def _event(n: int):  # type: ignore[no-untyped-def]
    return new_event(
        TranscriptUser(item_id=f"i{n}", text="where is my order, it was due on tuesday"),
        call_id=f"sess_bench{n % 500:03d}",
        source="bench",
        line_id="demo-retail",
    )


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


async def bench_producer(kafka: KafkaSettings) -> dict[str, float]:
    events = [_event(n) for n in range(EVENTS)]
    producer = BufferedProducer(kafka, client_id="bench", buffer_size=EVENTS + 1)
    await producer.start()
    topic = kafka.topic(TOPIC)
    costs = []
    started = time.perf_counter()
    for event in events:
        t0 = time.perf_counter_ns()
        producer.publish(topic, event)
        costs.append((time.perf_counter_ns() - t0) / 1000)
    await producer.flush(120)
    elapsed = time.perf_counter() - started
    await producer.close()
    return {
        "publish_p50_us": _pct(costs, 50),
        "publish_p99_us": _pct(costs, 99),
        "producer_records_per_s": EVENTS / elapsed,
    }


async def bench_consumer(
    kafka: KafkaSettings, handler, label: str, *, batch: bool = False
) -> float:  # type: ignore[no-untyped-def]
    done = asyncio.Event()
    count = 0
    first: float | None = None

    async def counting(events: list[ConsumedEvent]) -> None:
        nonlocal count, first
        if first is None:
            first = time.perf_counter()
        if batch:
            await handler(events)
        else:
            for event in events:
                await handler(event)
        count += len(events)
        if count >= EVENTS:
            done.set()

    dlq = BufferedProducer(kafka, client_id="bench-dlq")
    runner = ConsumerRunner(
        settings=kafka,
        group_id=f"bench-{label}-{uuid.uuid4().hex[:6]}",
        topics=[TOPIC],
        batch_handler=counting,
        dead_letters=dlq,
    )
    task = asyncio.create_task(runner.run())
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - (first or time.perf_counter())
    runner.stop()
    await task
    await dlq.close()
    return EVENTS / elapsed


async def main() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "logs").mkdir(exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=STATE, kafka_port=free_port(), database_name="switchboard_bench"
    )
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        kafka = KafkaSettings(
            KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
            KAFKA_TOPIC_PREFIX=f"b{uuid.uuid4().hex[:6]}.",
        )
        await ensure_topics(kafka, load_topic_specs())
        figures = await bench_producer(kafka)

        async def noop(event: ConsumedEvent) -> None:
            return None

        figures["consumer_noop_records_per_s"] = await bench_consumer(kafka, noop, "noop")
        postgres = PostgresSettings(DATABASE_URL=infra.database_url)
        await upgrade_to_head(postgres, schema)
        engine = create_engine(postgres, schema)
        call_log = PostgresCallLog(engine, schema)
        redactor, memory = default_redactor(), CallerMemory()

        async def store_one(event: ConsumedEvent) -> None:
            await handle_call_events([event], call_log=call_log, redactor=redactor, memory=memory)

        async def store_batch(events: list[ConsumedEvent]) -> None:
            await handle_call_events(events, call_log=call_log, redactor=redactor, memory=memory)

        figures["analytics_ingest_per_event_tx_per_s"] = await bench_consumer(
            kafka, store_one, "analytics-single"
        )
        figures["analytics_ingest_batched_per_s"] = await bench_consumer(
            kafka, store_batch, "analytics-batch", batch=True
        )
        await engine.dispose()
        print(f"backbone ({EVENTS} events, kafka {infra.notes[0]})")
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
