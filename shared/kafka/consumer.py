"""The consumer runner every service uses to process Kafka records at least once.

- Offsets are committed manually, per partition, only after the handler returned: the handler's
  work is durable by then (it committed its own transaction).
- Idempotent on ``event_id``: an in-process LRU skips records already handled here; handlers
  make their own work idempotent durably (e.g. a processed-events row in the same transaction).
- Each attempt is bounded by ``record_timeout_s``. ``RetryableError`` and timeouts are retried
  with backoff up to ``max_attempts``; then, like any other error, the record goes to
  ``cc.dlq.v1`` with its error and the consumer moves on.
- ``DependencyUnavailableError`` (the database is down) is retried without limit and never
  dead-lettered: consumption stops on that partition and resumes when the dependency returns.
- ``stop()`` (wired to SIGTERM) finishes the record in hand, commits, and leaves the group.
- Rebalances: when partitions are revoked the runner finishes the record in hand and commits
  what it processed before they move; a record redelivered after a rebalance is deduplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry import trace

from shared.events.envelope import Envelope, EventPayload
from shared.events.registry import DEFAULT_REGISTRY, EventRegistry
from shared.kafka.dead_letters import dead_letter_value
from shared.kafka.errors import DependencyUnavailableError, RetryableError
from shared.kafka.producer import BufferedProducer, backoff_delay
from shared.settings import KafkaSettings
from shared.telemetry.logs import call_context
from shared.telemetry.metrics import CONSUMER_LAG, CONSUMER_RECORDS, HANDLER_SECONDS
from shared.telemetry.tracing import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

DLQ_TOPIC = "cc.dlq.v1"
# Event ids remembered per process for fast duplicate skips (bounded: oldest forgotten first).
DEDUPE_CAPACITY = 100_000
# Backoff cap while a dependency is down: how long recovery may go unnoticed.
OUTAGE_BACKOFF_MAX_S = 5.0
CONSUMER_START_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class ConsumedEvent:
    """A decoded record handed to a handler."""

    envelope: Envelope
    payload: EventPayload
    topic: str
    partition: int
    offset: int
    # The span that published the record (from its headers); invalid when it carried none.
    published_by: trace.SpanContext = trace.INVALID_SPAN_CONTEXT


class Record(Protocol):
    """The parts of aiokafka's ``ConsumerRecord`` the runner reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


EventHandler = Callable[[ConsumedEvent], Awaitable[None]]
BatchHandler = Callable[[list[ConsumedEvent]], Awaitable[None]]
Outcome = Literal["ok", "failed", "stopped"]


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._runner._on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"count": len(assigned)})


class ConsumerRunner:
    """Runs ``handler`` over every call event on ``topics`` for consumer group ``group_id``."""

    def __init__(
        self,
        *,
        settings: KafkaSettings,
        group_id: str,
        topics: list[str],
        dead_letters: BufferedProducer,
        handler: EventHandler | None = None,
        batch_handler: BatchHandler | None = None,
        registry: EventRegistry = DEFAULT_REGISTRY,
        dedupe_capacity: int = DEDUPE_CAPACITY,
    ) -> None:
        self._settings = settings
        self.group_id = group_id
        self._topics = [settings.topic(t) for t in topics]
        self._dlq_topic = settings.topic(DLQ_TOPIC)
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler and batch_handler")
        self._handler = handler
        self._batch_handler = batch_handler
        self._dead_letters = dead_letters
        self._registry = registry
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._dedupe_capacity = dedupe_capacity
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._revoking = False
        self._batch_lock = asyncio.Lock()
        self._committed: dict[TopicPartition, int] = {}
        self._processed: dict[TopicPartition, int] = {}
        self.running = False
        self.stalled = False  # True while a dependency outage holds a record

    # -- lifecycle -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the runner to finish the record in hand, commit and leave the group."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until ``stop()``. Survives broker outages by reconnecting with backoff."""
        attempt = 0
        while not self._stopping.is_set():
            try:
                self._consumer = await self._start_consumer()
            except (KafkaError, OSError, TimeoutError):
                attempt += 1
                log.warning("consumer cannot reach the broker", extra={"group": self.group_id})
                await self._sleep(backoff_delay(attempt, high=OUTAGE_BACKOFF_MAX_S))
                continue
            attempt = 0
            self.running = True
            try:
                await self._consume(self._consumer)
            except KafkaError:
                log.warning("consumer lost the broker; reconnecting", exc_info=True)
            finally:
                self.running = False
                await self._shutdown_consumer(self._consumer)
                self._consumer = None

    async def _start_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._settings.max_poll_records,
            fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
            request_timeout_ms=int(self._settings.request_timeout_s * 1000) + 35_000,
        )
        consumer.subscribe(self._topics, listener=_Revocations(self))
        try:
            # Joining a group takes a few seconds (about 5 s on tansu): bound it generously.
            await asyncio.wait_for(consumer.start(), CONSUMER_START_TIMEOUT_S)
        except BaseException:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        return consumer

    async def _shutdown_consumer(self, consumer: AIOKafkaConsumer) -> None:
        await self._commit(consumer, set(self._processed))
        with contextlib.suppress(KafkaError, OSError, TimeoutError):
            # stop() leaves the group, so its partitions move at once rather than after a timeout.
            await asyncio.wait_for(consumer.stop(), self._settings.request_timeout_s * 2)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- the loop ------------------------------------------------------------------------------

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            async with self._batch_lock:
                self._revoking = False
                for tp, records in batches.items():
                    if self._batch_handler is not None:
                        done = await self._process_batch(records)
                    else:
                        done = await self._process_each(records)
                    if done is not None:
                        self._processed[tp] = done
                    await self._commit(consumer, {tp})
            self._update_lag(consumer)

    async def _on_revoked(self, revoked: set[TopicPartition]) -> None:
        consumer = self._consumer
        self._revoking = True
        # Wait (bounded) for the record in hand, then commit what was processed before the
        # partitions move. Past the bound, the next owner redelivers and deduplicates.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.record_timeout_s * 2):
                async with self._batch_lock:
                    if consumer is not None:
                        await self._commit(consumer, revoked)
        for tp in revoked:
            self._processed.pop(tp, None)
            self._committed.pop(tp, None)

    async def _commit(self, consumer: AIOKafkaConsumer, partitions: set[TopicPartition]) -> None:
        offsets = {
            tp: off
            for tp, off in self._processed.items()
            if tp in partitions and self._committed.get(tp) != off
        }
        if not offsets:
            return
        try:
            await asyncio.wait_for(consumer.commit(offsets), self._settings.request_timeout_s * 2)
        except (CommitFailedError, KafkaError, OSError, TimeoutError):
            # Not fatal: the records are redelivered to whoever owns the partition next and the
            # handlers are idempotent.
            log.warning("offset commit failed", extra={"group": self.group_id})
            return
        self._committed.update(offsets)

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            position = self._processed.get(tp, self._committed.get(tp))
            if high is not None and position is not None:
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, high - position)
        for topic, value in lag.items():
            CONSUMER_LAG.labels(group=self.group_id, topic=topic).set(value)

    # -- one record ----------------------------------------------------------------------------

    async def _process_each(self, records: list[Record]) -> int | None:
        """Handle records one at a time; the next offset to commit (None: no progress)."""
        next_offset = None
        for record in records:
            if self._stopping.is_set() or self._revoking:
                break
            if not await self._process(record):
                break  # stopped during an outage: leave it for the next owner
            next_offset = record.offset + 1
        return next_offset

    async def _process(self, record: Record) -> bool:
        """Handle, dead-letter or skip one record. False only if stopped during an outage."""
        try:
            event = self._decode(record)
        except ValueError as exc:
            return await self._dead_letter(record, exc, attempts=0)
        if self._is_duplicate(event):
            return True
        call_id = event.envelope.call_id
        with (
            tracer.start_as_current_span(
                f"consume {event.envelope.type}",
                context=extract_context(record.headers),
                kind=trace.SpanKind.CONSUMER,
                attributes={**self._span_attributes(event.topic), "call.id": call_id},
            ),
            call_context(call_id),
        ):
            outcome, error, attempts = await self._attempt([event])
        return await self._finish(record, event, outcome, error, attempts)

    async def _process_batch(self, records: list[Record]) -> int | None:
        """Hand a partition's batch to the batch handler in one call (one transaction).

        If the batch fails for a reason other than an outage, its records are retried one by
        one, so only the record at fault is dead-lettered.
        """
        events: list[tuple[Record, ConsumedEvent]] = []
        for record in records:
            try:
                event = self._decode(record)
            except ValueError as exc:
                if not await self._dead_letter(record, exc, attempts=0):
                    return None
                continue
            if not self._is_duplicate(event):
                events.append((record, event))
        if events:
            links = [trace.Link(e.published_by) for _, e in events if e.published_by.is_valid]
            with tracer.start_as_current_span(
                "consume batch",
                kind=trace.SpanKind.CONSUMER,
                links=links,
                attributes={**self._span_attributes(events[0][1].topic), "batch.size": len(events)},
            ):
                outcome, _, _ = await self._attempt([e for _, e in events])
            if outcome == "stopped":
                return None
            for record, event in events:
                if outcome == "failed":
                    one, error, attempts = await self._attempt([event])
                    if not await self._finish(record, event, one, error, attempts):
                        return None
                else:
                    self._succeeded(event)
        return records[-1].offset + 1

    def _decode(self, record: Record) -> ConsumedEvent:
        """The record as a typed event; ``ValueError`` if it is malformed or unknown."""
        envelope = Envelope.from_json(record.value or b"")
        return ConsumedEvent(
            envelope=envelope,
            payload=self._registry.decode(envelope),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            published_by=trace.get_current_span(extract_context(record.headers)).get_span_context(),
        )

    def _is_duplicate(self, event: ConsumedEvent) -> bool:
        if str(event.envelope.event_id) not in self._seen:
            return False
        CONSUMER_RECORDS.labels(group=self.group_id, topic=event.topic, outcome="duplicate").inc()
        return True

    def _span_attributes(self, topic: str) -> dict[str, str]:
        return {
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": self.group_id,
        }

    async def _attempt(self, events: list[ConsumedEvent]) -> tuple[Outcome, Exception | None, int]:
        """Run the handler on ``events`` with the retry policy of the error it raises."""
        attempts = 0
        outage = 0
        while True:
            attempts += 1
            try:
                with HANDLER_SECONDS.labels(group=self.group_id, topic=events[0].topic).time():
                    async with asyncio.timeout(self._settings.record_timeout_s):
                        if self._batch_handler is not None:
                            await self._batch_handler(events)
                        elif self._handler is not None:
                            await self._handler(events[0])
            except DependencyUnavailableError:
                outage += 1
                attempts -= 1  # an outage is not the record's fault
                self.stalled = True
                if outage == 1:
                    log.warning(
                        "dependency unavailable; holding records",
                        extra={"group": self.group_id, "records": len(events)},
                    )
                await self._sleep(backoff_delay(outage, high=OUTAGE_BACKOFF_MAX_S))
                if self._stopping.is_set():
                    return "stopped", None, attempts
                continue
            except (RetryableError, TimeoutError) as exc:
                if attempts < self._settings.max_attempts:
                    await self._sleep(backoff_delay(attempts))
                    continue
                return "failed", exc, attempts
            except Exception as exc:
                log.warning("handler failed", exc_info=True, extra={"group": self.group_id})
                return "failed", exc, attempts
            self.stalled = False
            return "ok", None, attempts

    async def _finish(
        self,
        record: Record,
        event: ConsumedEvent,
        outcome: Outcome,
        error: Exception | None,
        attempts: int,
    ) -> bool:
        if outcome == "ok":
            self._succeeded(event)
            return True
        if outcome == "stopped" or error is None:
            return False
        return await self._dead_letter(record, error, attempts=attempts)

    def _succeeded(self, event: ConsumedEvent) -> None:
        self._remember(str(event.envelope.event_id))
        CONSUMER_RECORDS.labels(group=self.group_id, topic=event.topic, outcome="ok").inc()

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > self._dedupe_capacity:
            self._seen.popitem(last=False)

    async def _dead_letter(self, record: Record, error: BaseException, *, attempts: int) -> bool:
        topic: str = record.topic
        value = dead_letter_value(
            group=self.group_id,
            topic=topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            error=error,
            attempts=attempts,
        )
        outage = 0
        while True:
            try:
                await self._dead_letters.send_now(
                    self._dlq_topic,
                    key=record.key,
                    value=value,
                )
                break
            except DependencyUnavailableError:
                # The DLQ record must be durable before the offset moves past the original.
                outage += 1
                await self._sleep(backoff_delay(outage, high=OUTAGE_BACKOFF_MAX_S))
                if self._stopping.is_set():
                    return False
        log.warning(
            "record dead-lettered",
            extra={"group": self.group_id, "topic": topic, "error_type": type(error).__name__},
        )
        CONSUMER_RECORDS.labels(group=self.group_id, topic=topic, outcome="dead_lettered").inc()
        return True
