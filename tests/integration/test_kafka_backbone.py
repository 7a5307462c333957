"""The event backbone against a real Kafka-protocol broker: producer, consumer runner, DLQ."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.events import TranscriptUser, new_event
from shared.kafka.consumer import DLQ_TOPIC, ConsumedEvent, ConsumerRunner
from shared.kafka.errors import DependencyUnavailableError, RetryableError
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings
from tests.support.kafka import read_topic
from tests.support.tracing import process_provider
from tests.support.waiting import wait_until

CALL_EVENTS = "cc.call-events.v1"
Handler = Callable[[ConsumedEvent], Awaitable[None]]


@pytest.fixture
async def producer(kafka: KafkaSettings) -> AsyncIterator[BufferedProducer]:
    p = BufferedProducer(kafka, client_id="test-producer")
    await p.start()
    yield p
    await p.close()


class Running:
    """A consumer runner on a task, stopped (as SIGTERM would) at the end."""

    def __init__(self, runner: ConsumerRunner, dlq: BufferedProducer) -> None:
        self.runner = runner
        self.dlq = dlq
        self.task = asyncio.create_task(runner.run())

    async def stop(self) -> None:
        self.runner.stop()
        await asyncio.wait_for(self.task, 30)
        await self.dlq.close()


@pytest.fixture
async def start_runner(
    kafka: KafkaSettings, unique: str
) -> AsyncIterator[Callable[[Handler], Awaitable[Running]]]:
    started: list[Running] = []

    async def start(handler: Handler, group: str | None = None) -> Running:
        dlq = BufferedProducer(kafka, client_id="test-dlq")
        await dlq.start()
        runner = ConsumerRunner(
            settings=kafka,
            group_id=group or f"g-{unique}",
            topics=[CALL_EVENTS],
            handler=handler,
            dead_letters=dlq,
        )
        running = Running(runner, dlq)
        started.append(running)
        return running

    yield start
    for running in started:
        if not running.task.done():
            await running.stop()


def utterance(call_id: str, n: int):  # type: ignore[no-untyped-def]
    return new_event(
        TranscriptUser(item_id=f"item_{n}", text=f"utterance {n}"),
        call_id=call_id,
        source="test",
        line_id="demo-retail",
    )


async def test_events_arrive_in_order_per_call(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner
) -> None:
    seen: dict[str, list[str]] = {}

    async def handler(event: ConsumedEvent) -> None:
        seen.setdefault(event.envelope.call_id, []).append(event.payload.item_id)  # type: ignore[attr-defined]

    await start_runner(handler)
    topic = kafka.topic(CALL_EVENTS)
    for n in range(50):
        for call in ("sess_a", "sess_b", "sess_c"):
            assert producer.publish(topic, utterance(call, n))
    await wait_until(lambda: sum(map(len, seen.values())) >= 150, 30)
    assert {call: len(items) for call, items in seen.items()} == {
        "sess_a": 50,
        "sess_b": 50,
        "sess_c": 50,
    }
    for items in seen.values():
        assert items == [f"item_{n}" for n in range(50)]


async def test_trace_context_crosses_kafka(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner
) -> None:
    exporter = InMemorySpanExporter()
    # One provider per process (the first set wins): tests share it, each with its exporter.
    process_provider().add_span_processor(SimpleSpanProcessor(exporter))
    tracer = trace.get_tracer("test")
    consumed: list[ConsumedEvent] = []

    async def handler(event: ConsumedEvent) -> None:
        consumed.append(event)

    await start_runner(handler)
    with tracer.start_as_current_span("publish-turn") as span:
        producer.publish(kafka.topic(CALL_EVENTS), utterance("sess_trace", 1))
        sent = span.get_span_context()
    await wait_until(lambda: consumed, 20)
    assert consumed
    spans = await wait_until(
        lambda: [s for s in exporter.get_finished_spans() if s.name == "consume transcript.user"],
        5,
    )
    assert spans, "the consumer made no span"
    assert spans[0].context.trace_id == sent.trace_id
    assert spans[0].parent is not None and spans[0].parent.span_id == sent.span_id


async def test_poison_records_go_to_the_dlq_and_consumption_goes_on(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner, infra
) -> None:
    handled: list[str] = []

    async def handler(event: ConsumedEvent) -> None:
        handled.append(event.envelope.call_id)

    await start_runner(handler)
    topic = kafka.topic(CALL_EVENTS)
    producer.publish_record(topic, key=b"sess_p", value=b"\xff not json at all")
    unknown = {"type": "no.such.event", "version": 1, "call_id": "sess_p", "source": "x"}
    producer.publish_record(topic, key=b"sess_p", value=json.dumps(unknown).encode())
    producer.publish(topic, utterance("sess_p", 1))
    assert await wait_until(lambda: handled == ["sess_p"], 20)
    dead = await read_topic(infra.kafka_bootstrap, kafka.topic(DLQ_TOPIC), expect=2)
    bodies = [json.loads(r.value) for r in dead]
    assert len(bodies) == 2
    assert {b["topic"] for b in bodies} == {topic}
    assert all(b["error_type"] and b["value_b64"] for b in bodies)
    assert any("UnknownEventError" in b["error_type"] for b in bodies)


async def test_retryable_errors_are_retried_then_dead_lettered(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner, infra
) -> None:
    attempts: dict[str, int] = {}

    async def handler(event: ConsumedEvent) -> None:
        call = event.envelope.call_id
        attempts[call] = attempts.get(call, 0) + 1
        if call == "sess_flaky" and attempts[call] < 3:
            raise RetryableError("blip")
        if call == "sess_broken":
            raise RetryableError("always")

    await start_runner(handler)
    topic = kafka.topic(CALL_EVENTS)
    producer.publish(topic, utterance("sess_flaky", 1))
    producer.publish(topic, utterance("sess_broken", 1))
    dead = await read_topic(infra.kafka_bootstrap, kafka.topic(DLQ_TOPIC), expect=1)
    await wait_until(lambda: attempts.get("sess_flaky") == 3, 10)
    assert attempts["sess_flaky"] == 3  # two failures, then success: not dead-lettered
    assert attempts["sess_broken"] == kafka.max_attempts
    assert [json.loads(r.value)["attempts"] for r in dead] == [kafka.max_attempts]
    assert [r.key for r in dead] == [b"sess_broken"]


async def test_a_dependency_outage_holds_records_without_dead_lettering(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner, infra
) -> None:
    database_up = asyncio.Event()
    stored: list[int] = []

    async def handler(event: ConsumedEvent) -> None:
        if not database_up.is_set():
            raise DependencyUnavailableError("database down")
        stored.append(int(event.payload.item_id.split("_")[1]))  # type: ignore[attr-defined]

    running = await start_runner(handler)
    for n in range(5):
        producer.publish(kafka.topic(CALL_EVENTS), utterance("sess_outage", n))
    assert await wait_until(lambda: running.runner.stalled, 15)
    await asyncio.sleep(2.0)  # an outage longer than all retry budgets
    assert stored == []
    database_up.set()
    assert await wait_until(lambda: len(stored) == 5, 20)
    assert stored == [0, 1, 2, 3, 4]
    dead = await read_topic(infra.kafka_bootstrap, kafka.topic(DLQ_TOPIC), expect=1, timeout_s=2)
    assert dead == []


async def test_committed_offsets_survive_a_restart_and_duplicates_are_skipped(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner, unique: str
) -> None:
    first: list[str] = []
    second: list[str] = []

    async def record_first(event: ConsumedEvent) -> None:
        first.append(str(event.envelope.event_id))

    async def record_second(event: ConsumedEvent) -> None:
        second.append(str(event.envelope.event_id))

    topic = kafka.topic(CALL_EVENTS)
    duplicate = utterance("sess_dup", 0)
    producer.publish(topic, duplicate)
    producer.publish(topic, duplicate)  # a producer retry delivered it twice
    for n in range(1, 10):
        producer.publish(topic, utterance("sess_dup", n))
    running = await start_runner(record_first, group=f"restart-{unique}")
    assert await wait_until(lambda: len(first) >= 10, 20)
    await running.stop()  # what SIGTERM does: finish, commit, leave the group
    assert len(first) == 10 and len(set(first)) == 10

    producer.publish(topic, utterance("sess_dup", 10))
    await start_runner(record_second, group=f"restart-{unique}")
    assert await wait_until(lambda: second, 20)
    await asyncio.sleep(1.0)
    assert len(second) == 1  # only the new record: the first ten were committed


async def test_topic_bootstrap_is_idempotent(kafka: KafkaSettings) -> None:
    assert await ensure_topics(kafka, load_topic_specs()) == []


async def test_a_second_consumer_joining_the_group_loses_nothing(
    kafka: KafkaSettings, producer: BufferedProducer, start_runner, unique: str
) -> None:
    handled: list[tuple[str, str]] = []

    def recorder(name: str) -> Handler:
        async def handler(event: ConsumedEvent) -> None:
            handled.append((name, str(event.envelope.event_id)))
            await asyncio.sleep(0.002)  # a little work, so the rebalance lands mid-stream

        return handler

    group = f"rebalance-{unique}"
    topic = kafka.topic(CALL_EVENTS)
    sent = [utterance(f"sess_r{n % 24}", n) for n in range(600)]
    await start_runner(recorder("first"), group=group)
    for event in sent[:300]:
        producer.publish(topic, event)
    await wait_until(lambda: len(handled) >= 50, 20)
    second = await start_runner(recorder("second"), group=group)  # partitions move mid-stream
    for event in sent[300:400]:
        producer.publish(topic, event)
        await asyncio.sleep(0.01)
    assert await wait_until(lambda: second.runner.running, 30), "second consumer never joined"
    for event in sent[400:]:
        producer.publish(topic, event)
        await asyncio.sleep(0.01)
    want = {str(e.event_id) for e in sent}
    await wait_until(lambda: {eid for _, eid in handled} >= want, 60)
    assert {eid for _, eid in handled} == want  # nothing lost across the rebalance
    assert {name for name, _ in handled} == {"first", "second"}  # the work was shared
    duplicates = len(handled) - len(want)
    assert duplicates <= 200, f"{duplicates} redeliveries: more than an uncommitted batch"


async def test_a_batch_handler_isolates_the_one_bad_record(
    kafka: KafkaSettings, producer: BufferedProducer, unique: str, infra
) -> None:
    stored: list[str] = []
    batch_sizes: list[int] = []

    async def store(events: list[ConsumedEvent]) -> None:
        batch_sizes.append(len(events))
        if any(e.envelope.call_id == "sess_bad" for e in events):
            raise ValueError("a constraint this event violates")
        stored.extend(e.payload.item_id for e in events)  # type: ignore[attr-defined]

    dlq = BufferedProducer(kafka, client_id="test-dlq")
    await dlq.start()
    runner = ConsumerRunner(
        settings=kafka, group_id=f"batch-{unique}", topics=[CALL_EVENTS],
        batch_handler=store, dead_letters=dlq,
    )  # fmt: skip
    topic = kafka.topic(CALL_EVENTS)
    for n in range(20):
        producer.publish(topic, utterance("sess_good", n))
    producer.publish(topic, utterance("sess_bad", 0))
    await producer.flush(10)
    task = asyncio.create_task(runner.run())
    try:
        assert await wait_until(lambda: len(stored) == 20, 30), stored
        dead = await read_topic(infra.kafka_bootstrap, kafka.topic(DLQ_TOPIC), expect=1)
        assert [r.key for r in dead] == [b"sess_bad"]
        assert max(batch_sizes) > 1  # records really were handed over together
        assert sorted(stored) == sorted(f"item_{n}" for n in range(20))
    finally:
        runner.stop()
        await asyncio.wait_for(task, 30)
        await dlq.close()
