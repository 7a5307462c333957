"""The ``tool.execute`` consumer: commands run concurrently, offsets commit in order.

The shared ``ConsumerRunner`` handles a partition's records one batch at a time, which would let
one slow tool hold every command behind it. Tool commands are independent and each is bounded by
its own deadline, so here every record starts as soon as it is fetched (up to ``max_in_flight``
at once; at the bound fetching pauses and the broker holds the rest). A partition's offset is
committed only up to its oldest command not yet finished: a command counts as finished when its
replies were acknowledged by the broker (or it was dead-lettered), so a crash loses nothing and
redelivers only unfinished commands, which writes' idempotency keys make harmless.

Each command runs in a span ``tool.execute``, a child of the gateway span that published it
(its context comes in the record's headers); the replies are published inside it, so they carry
it back. Its attributes are the tool's name, the call id and the outcome, never the arguments.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from opentelemetry import trace

from shared.events import ToolExecute
from shared.events.envelope import Envelope
from shared.events.registry import DEFAULT_REGISTRY
from shared.kafka.consumer import (
    CONSUMER_START_TIMEOUT_S,
    OUTAGE_BACKOFF_MAX_S,
    ConsumedEvent,
    Record,
)
from shared.kafka.dead_letters import dead_letter_value
from shared.kafka.errors import DependencyUnavailableError
from shared.kafka.producer import BufferedProducer, backoff_delay
from shared.settings import KafkaSettings
from shared.telemetry.logs import call_context
from shared.telemetry.metrics import CONSUMER_RECORDS
from shared.telemetry.tracing import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
DLQ_TOPIC = "cc.dlq.v1"
FETCH_MAX_WAIT_MS = 10
DEDUPE_CAPACITY = 50_000  # event ids remembered per process (oldest forgotten first)
Handle = Callable[[ConsumedEvent], Awaitable[None]]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: CommandConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"count": len(assigned)})


class CommandConsumer:
    """Consumes ``topic`` in ``group_id``, running ``handle`` on each record concurrently."""

    def __init__(
        self,
        *,
        settings: KafkaSettings,
        group_id: str,
        topic: str,
        handle: Handle,
        dead_letters: BufferedProducer,
        max_in_flight: int,
        drain_timeout_s: float,
    ) -> None:
        self._settings = settings
        self.group_id = group_id
        self._topic = settings.topic(topic)
        self._dlq = settings.topic(DLQ_TOPIC)
        self._handle = handle
        self._dead_letters = dead_letters
        self._max_in_flight = max_in_flight
        self._drain_timeout_s = drain_timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        # Per partition: offset -> finished?, in fetch order (ascending offsets).
        self._pending: dict[TopicPartition, OrderedDict[int, bool]] = {}
        self._committed: dict[TopicPartition, int] = {}
        self._tasks: dict[asyncio.Task[None], TopicPartition] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.running = False

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def stop(self) -> None:
        """Stop fetching; commands in hand finish (bounded by ``drain_timeout_s``)."""
        self._stopping.set()

    async def run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                consumer = await self._start()
            except (KafkaError, OSError, TimeoutError):
                attempt += 1
                log.warning("consumer cannot reach the broker", extra={"group": self.group_id})
                await self._sleep(backoff_delay(attempt, high=OUTAGE_BACKOFF_MAX_S))
                continue
            attempt = 0
            self._consumer = consumer
            self.running = True
            try:
                await self._consume(consumer)
            except KafkaError:
                log.warning("consumer lost the broker; reconnecting", exc_info=True)
            finally:
                self.running = False
                await self._drain(set(self._pending))
                with contextlib.suppress(KafkaError, OSError, TimeoutError):
                    await asyncio.wait_for(consumer.stop(), self._settings.request_timeout_s * 2)
                self._consumer = None

    async def _start(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            group_id=self.group_id,
            client_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A tool call is on a caller's critical path: ask the broker to answer a fetch at
            # once rather than hold it for more data (aiokafka's default waits up to 500 ms).
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            request_timeout_ms=int(self._settings.request_timeout_s * 1000) + 35_000,
        )
        consumer.subscribe([self._topic], listener=_Listener(self))
        try:
            await asyncio.wait_for(consumer.start(), CONSUMER_START_TIMEOUT_S)
        except BaseException:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        return consumer

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            free = self._max_in_flight - len(self._tasks)
            if free <= 0:
                # At the bound: wait (briefly, so stop() is noticed) for a command to finish.
                await asyncio.wait(set(self._tasks), timeout=0.5, return_when="FIRST_COMPLETED")
            else:
                batches = await consumer.getmany(timeout_ms=100, max_records=free)
                for tp, records in batches.items():
                    for record in records:
                        self._dispatch(tp, record)
            await self._commit(consumer, set(self._pending))

    def _dispatch(self, tp: TopicPartition, record: Record) -> None:
        self._pending.setdefault(tp, OrderedDict())[record.offset] = False
        task = asyncio.create_task(self._process(tp, record), name=f"command:{record.offset}")
        self._tasks[task] = tp
        task.add_done_callback(lambda t: self._tasks.pop(t, None))

    async def _process(self, tp: TopicPartition, record: Record) -> None:
        try:
            envelope = Envelope.from_json(record.value or b"")
            event = ConsumedEvent(envelope, DEFAULT_REGISTRY.decode(envelope), record.topic,
                                  record.partition, record.offset)  # fmt: skip
        except ValueError as exc:
            if await self._dead_letter(record, exc):
                self._finished(tp, record.offset)
            return
        event_id = str(envelope.event_id)
        if event_id in self._seen:
            # Handled, or in hand: a duplicate has a higher offset on the same partition, so the
            # ordered commit still waits for the original.
            self._finished(tp, record.offset)
            return
        self._seen[event_id] = None
        if len(self._seen) > DEDUPE_CAPACITY:
            self._seen.popitem(last=False)
        if not await self._traced_run(event, record):
            self._seen.pop(event_id, None)
            return  # stopped during an outage: not finished, redelivered to the next owner
        self._finished(tp, record.offset)

    async def _traced_run(self, event: ConsumedEvent, record: Record) -> bool:
        """``_run`` in the command's span, its log lines carrying the call id."""
        payload, call_id = event.payload, event.envelope.call_id
        attributes = {"call.id": call_id, "messaging.destination.name": record.topic}
        if isinstance(payload, ToolExecute):
            attributes |= {"tool.name": payload.name, "tool.call_id": payload.tool_call_id}
        with (
            tracer.start_as_current_span(
                "tool.execute",
                context=extract_context(record.headers),
                kind=trace.SpanKind.CONSUMER,
                attributes=attributes,
            ),
            call_context(call_id),
        ):
            return await self._run(event, record)

    async def _run(self, event: ConsumedEvent, record: Record) -> bool:
        """Handle until done; False only when stopped while a dependency is down."""
        outage = 0
        while True:
            try:
                await self._handle(event)
            except DependencyUnavailableError:
                outage += 1
                if outage == 1:
                    log.warning("broker unavailable; holding a command's replies")
                await self._sleep(backoff_delay(outage, high=OUTAGE_BACKOFF_MAX_S))
                if self._stopping.is_set():
                    return False
                continue
            except Exception as exc:
                log.warning("command failed", exc_info=True, extra={"group": self.group_id})
                return await self._dead_letter(record, exc)
            CONSUMER_RECORDS.labels(group=self.group_id, topic=event.topic, outcome="ok").inc()
            return True

    def _finished(self, tp: TopicPartition, offset: int) -> None:
        pending = self._pending.get(tp)
        if pending is not None and offset in pending:
            pending[offset] = True

    async def _commit(self, consumer: AIOKafkaConsumer, partitions: set[TopicPartition]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for tp in partitions:
            pending = self._pending.get(tp)
            while pending and next(iter(pending.values())):
                offset, _ = pending.popitem(last=False)
                offsets[tp] = offset + 1
        offsets = {tp: o for tp, o in offsets.items() if self._committed.get(tp) != o}
        if not offsets:
            return
        try:
            await asyncio.wait_for(consumer.commit(offsets), self._settings.request_timeout_s * 2)
        except (CommitFailedError, KafkaError, OSError, TimeoutError):
            # Not fatal: the next owner redelivers; replies are idempotent by event id and key.
            log.warning("offset commit failed", extra={"group": self.group_id})
            return
        self._committed.update(offsets)

    async def _drain(self, partitions: set[TopicPartition]) -> None:
        """Wait (bounded) for the commands of ``partitions`` in hand, then commit them."""
        tasks = {t for t, tp in self._tasks.items() if tp in partitions}
        if tasks:
            await asyncio.wait(tasks, timeout=self._drain_timeout_s)
        if self._consumer is not None:
            await self._commit(self._consumer, partitions)

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._drain(revoked)
        for tp in revoked:
            self._pending.pop(tp, None)
            self._committed.pop(tp, None)

    async def _dead_letter(self, record: Record, error: BaseException) -> bool:
        value = dead_letter_value(
            group=self.group_id, topic=record.topic, partition=record.partition,
            offset=record.offset, key=record.key, value=record.value, error=error, attempts=1,
        )  # fmt: skip
        outage = 0
        while True:
            try:
                await self._dead_letters.send_now(self._dlq, key=record.key, value=value)
            except DependencyUnavailableError:
                outage += 1
                await self._sleep(backoff_delay(outage, high=OUTAGE_BACKOFF_MAX_S))
                if self._stopping.is_set():
                    return False
                continue
            log.warning("record dead-lettered", extra={"group": self.group_id})
            CONSUMER_RECORDS.labels(group=self.group_id, topic=record.topic,
                                    outcome="dead_lettered").inc()  # fmt: skip
            return True
