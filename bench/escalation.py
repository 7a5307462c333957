"""Escalation detection latency (``python -m bench.escalation``).

A real session service process (``python -m services.session``) on loopback with the embedded
broker (or ``KAFKA_BOOTSTRAP_SERVERS``) and Redis. For each of ``CALLS`` calls a "gateway"
publishes ``call.started``, two calm caller turns, then the turn that triggers a rule ("I want
to talk to a person"); the figure is the time from handing that trigger to the producer to the
moment a consumer of ``cc.call-events.v1`` holds the call's ``escalation.requested``: the whole
path a supervisor and the handoff desk depend on (Kafka in, signals, rules, Redis, Kafka out).

1. One call at a time: p50/p95/p99.
2. Under load: ``BURST`` calls' triggers published at once; p50/p95 and the last one.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

from bench.arrivals import Arrivals
from bench.service_process import service_process
from infra.localstack.infrastructure import free_port, resolve
from shared.events import CallStarted, Envelope, EventPayload, TranscriptUser, new_event
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings

STATE = Path(__file__).resolve().parents[1] / ".switchboard" / "bench"
CALLS = 300
BURST = 200
CALM = ("hi, I'm calling about my order", "it was supposed to arrive on tuesday")
TRIGGER = "this is useless, I want to talk to a person right now"


def _event(call_id: str, payload: EventPayload) -> Envelope:
    return new_event(payload, call_id=call_id, line_id="demo-retail", source="gw-bench")


def _escalated_call(envelope: Envelope) -> str | None:
    return envelope.call_id if envelope.type == "escalation.requested" else None


async def _prepare(producer: BufferedProducer, topic: str, call_ids: list[str]) -> None:
    for call_id in call_ids:
        producer.publish(
            topic, _event(call_id, CallStarted(channel="voice_agent", line_id="demo-retail"))
        )
        for n, text in enumerate(CALM):
            producer.publish(topic, _event(call_id, TranscriptUser(item_id=f"c{n}", text=text)))
    await producer.flush(30)


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


async def measure(kafka: KafkaSettings) -> dict[str, float]:
    producer = BufferedProducer(kafka, client_id="bench-gateway", buffer_size=10 * BURST + 100)
    await producer.start()
    seen = Arrivals(
        kafka,
        "cc.call-events.v1",
        lambda e: e.call_id if e.type == "escalation.requested" else None,
    )
    reader = asyncio.create_task(seen.run())
    topic = kafka.topic("cc.call-events.v1")
    try:
        warm = [f"sess_warm{uuid.uuid4().hex[:8]}"]
        await _prepare(producer, topic, warm)
        producer.publish(topic, _event(warm[0], TranscriptUser(item_id="t", text=TRIGGER)))
        await seen.wait_for(set(warm), 120)
        single: list[float] = []
        for n in range(CALLS):
            call_id = f"sess_one{n}_{uuid.uuid4().hex[:6]}"
            await _prepare(producer, topic, [call_id])
            await asyncio.sleep(0.02)  # the calm turns are handled before the clock starts
            started = time.perf_counter()
            producer.publish(topic, _event(call_id, TranscriptUser(item_id="t", text=TRIGGER)))
            await seen.wait_for({call_id}, 30)
            single.append((seen.arrived[call_id] - started) * 1000)
        burst_ids = [f"sess_burst{n}_{uuid.uuid4().hex[:6]}" for n in range(BURST)]
        await _prepare(producer, topic, burst_ids)
        await asyncio.sleep(1.0)
        started = time.perf_counter()
        for call_id in burst_ids:
            producer.publish(topic, _event(call_id, TranscriptUser(item_id="t", text=TRIGGER)))
        await seen.wait_for(set(burst_ids), 300)
        burst = [(seen.arrived[c] - started) * 1000 for c in burst_ids]
    finally:
        reader.cancel()
        await producer.close()
    return {
        "one_at_a_time_p50_ms": _pct(single, 50),
        "one_at_a_time_p95_ms": _pct(single, 95),
        "one_at_a_time_p99_ms": _pct(single, 99),
        f"burst_of_{BURST}_p50_ms": _pct(burst, 50),
        f"burst_of_{BURST}_p95_ms": _pct(burst, 95),
        f"burst_of_{BURST}_last_ms": max(burst),
    }


async def main() -> None:
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=STATE, kafka_port=free_port(), database_name="switchboard_bench"
    )
    tag = uuid.uuid4().hex[:6]
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"be{tag}."
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"be{tag}:",
        "SESSION_CONSUMER_GROUP": f"bench-session-{tag}",
        "LOG_LEVEL": "WARNING",
    }
    try:
        await ensure_topics(kafka, load_topic_specs())
        async with service_process("session", env):
            figures = await measure(kafka)
        print(f"escalation detection ({CALLS} calls one at a time, burst of {BURST}; "
              f"kafka {infra.notes[0]})")  # fmt: skip
        for name, value in figures.items():
            print(f"  {name:32} {value:12,.1f}")
    finally:
        infra.stop()


if __name__ == "__main__":
    asyncio.run(main())
