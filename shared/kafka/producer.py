"""An async Kafka producer that never blocks its caller.

``publish`` puts a record into a bounded in-process buffer and returns at once, so the audio path
is never held up by the broker. A background task sends batches with ``acks=all`` and retries
failed sends with capped exponential backoff for as long as the broker is away. When the buffer
is full the new record is dropped, counted (``switchboard_events_dropped_total``) and logged:
that is the bound, and it keeps memory flat during a long broker outage.

``send_now`` is for records whose loss is not acceptable (dead letters, commands): it awaits the
broker's acknowledgement, bounded by a timeout, and raises if it does not come.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.events.envelope import Envelope
from shared.kafka.errors import DependencyUnavailableError
from shared.settings import KafkaSettings
from shared.telemetry.metrics import (
    EVENTS_DROPPED,
    EVENTS_PUBLISHED,
    PRODUCER_BUFFERED,
    PUBLISH_RETRIES,
)
from shared.telemetry.tracing import KafkaHeaders, inject_headers

log = logging.getLogger(__name__)

# Records sent per round trip. A batch is in flight beside the buffer, so memory is bounded by
# buffer_size + MAX_BATCH records.
MAX_BATCH = 500
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0


@dataclass(slots=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: KafkaHeaders = field(default_factory=list)


def backoff_delay(
    attempt: int, *, low: float = BACKOFF_MIN_S, high: float = BACKOFF_MAX_S
) -> float:
    """Capped exponential backoff with full jitter (attempt counts from 1)."""
    return random.uniform(low, min(high, low * 2 ** (attempt - 1)))


class BufferedProducer:
    """Publishes records to Kafka from a bounded buffer; see the module docstring."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        client_id: str,
        buffer_size: int | None = None,
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._queue: asyncio.Queue[OutgoingRecord] = asyncio.Queue(
            maxsize=buffer_size or settings.producer_buffer_size
        )
        self._producer: AIOKafkaProducer | None = None
        # Concurrent first sends (send_now twice, or with the sender) start one client, not two.
        self._connecting = asyncio.Lock()
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        self._in_flight = 0
        self._unacked: list[OutgoingRecord] = []  # the in-flight batch's records not yet acked
        self._idle = asyncio.Event()  # set while nothing is buffered or in flight
        self._idle.set()
        self.broker_ok = False
        self.dropped = 0

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background sender. Returns at once, even when the broker is down."""
        if self._sender is None:
            self._sender = asyncio.create_task(
                self._send_loop(), name=f"producer:{self._client_id}"
            )

    async def close(self, timeout_s: float = 5.0) -> None:
        """Stop taking records, deliver what is buffered within ``timeout_s``, then stop.

        Records still buffered at the deadline are dropped and counted (reason ``shutdown``).
        """
        self._closed = True
        with contextlib.suppress(TimeoutError):
            await self.flush(timeout_s)
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None
        for record in self._unacked:
            self._count_drop(record.topic, "shutdown")
        self._unacked = []
        while not self._queue.empty():
            record = self._queue.get_nowait()
            self._count_drop(record.topic, "shutdown")
        if self._producer is not None:
            with contextlib.suppress(KafkaError, OSError, TimeoutError):
                await asyncio.wait_for(self._producer.stop(), timeout_s)
            self._producer = None

    async def flush(self, timeout_s: float) -> None:
        """Wait until the buffer is empty and nothing is in flight; ``TimeoutError`` past it."""
        async with asyncio.timeout(timeout_s):
            await self._idle.wait()

    @property
    def buffered(self) -> int:
        return self._queue.qsize() + self._in_flight

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, topic: str, event: Envelope) -> bool:
        """Buffer an event keyed by its ``call_id``. False if it was dropped at the bound."""
        return self.publish_record(
            topic, key=event.call_id.encode(), value=event.to_json(), headers=inject_headers()
        )

    def publish_record(
        self, topic: str, *, key: bytes | None, value: bytes, headers: KafkaHeaders | None = None
    ) -> bool:
        """Buffer a raw record; never blocks. False if it was dropped."""
        if self._closed:
            self._count_drop(topic, "closed")
            return False
        try:
            self._queue.put_nowait(OutgoingRecord(topic, key, value, headers or []))
            self._idle.clear()
        except asyncio.QueueFull:
            self._count_drop(topic, "buffer_full")
            return False
        PRODUCER_BUFFERED.set(self.buffered)
        return True

    async def send_now(
        self,
        topic: str,
        *,
        key: bytes | None,
        value: bytes,
        headers: KafkaHeaders | None = None,
        timeout_s: float | None = None,
    ) -> None:
        """Send one record and wait for the broker's ack.

        Raises ``DependencyUnavailableError`` when the broker does not acknowledge in time.
        """
        timeout = timeout_s or self._settings.request_timeout_s * 2
        try:
            async with asyncio.timeout(timeout):
                producer = await self._connected()
                await producer.send_and_wait(
                    topic, value=value, key=key, headers=inject_headers(headers)
                )
        except (KafkaError, OSError, TimeoutError) as exc:
            self.broker_ok = False
            raise DependencyUnavailableError("broker did not acknowledge the record") from exc
        self.broker_ok = True
        EVENTS_PUBLISHED.labels(topic=topic).inc()

    async def check_broker(self, timeout_s: float = 2.0) -> bool:
        """True when the broker answers a metadata request now (for readiness probes)."""
        try:
            async with asyncio.timeout(timeout_s):
                producer = await self._connected()
                await producer.client.fetch_all_metadata()
        except (KafkaError, OSError, TimeoutError):
            self.broker_ok = False
            return False
        self.broker_ok = True
        return True

    # -- internals -----------------------------------------------------------------------------

    def _count_drop(self, topic: str, reason: str) -> None:
        self.dropped += 1
        EVENTS_DROPPED.labels(topic=topic, reason=reason).inc()
        # Constant message; the topic and reason are not personal data.
        log.warning("event dropped", extra={"topic": topic, "reason": reason})

    async def _connected(self) -> AIOKafkaProducer:
        """The started aiokafka producer; starts one (bounded by the request timeout) if needed."""
        if self._producer is not None:
            return self._producer
        async with self._connecting:
            if self._producer is None:
                self._producer = await self._start_client()
            return self._producer

    async def _start_client(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap_servers,
            client_id=self._client_id,
            acks="all",
            enable_idempotence=self._settings.enable_idempotence,
            request_timeout_ms=int(self._settings.request_timeout_s * 1000),
            linger_ms=5,
        )
        try:
            await asyncio.wait_for(producer.start(), self._settings.request_timeout_s)
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        return producer

    async def _send_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._in_flight = len(batch)
            try:
                await self._deliver(batch)
            finally:
                self._in_flight = 0
                PRODUCER_BUFFERED.set(self.buffered)
                if self._queue.empty():
                    self._idle.set()

    async def _deliver(self, batch: list[OutgoingRecord]) -> None:
        """Send ``batch`` until every record is acknowledged, backing off between attempts."""
        pending = batch
        attempt = 0
        while pending:
            attempt += 1
            self._unacked = pending
            pending = await self._try_send(pending)
            self._unacked = pending
            if pending:
                self.broker_ok = False
                PUBLISH_RETRIES.labels(topic=pending[0].topic).inc(len(pending))
                if attempt == 1 or attempt % 20 == 0:
                    log.warning(
                        "broker unavailable; retrying buffered events",
                        extra={"pending": len(pending), "buffered": self._queue.qsize()},
                    )
                await asyncio.sleep(backoff_delay(attempt))
            else:
                self.broker_ok = True

    async def _try_send(self, records: list[OutgoingRecord]) -> list[OutgoingRecord]:
        """One attempt; returns the records that were not acknowledged, in their order."""
        try:
            producer = await self._connected()
        except (KafkaError, OSError, TimeoutError):
            return records
        sent: list[tuple[OutgoingRecord, asyncio.Future[object]]] = []
        failed_from = len(records)
        deadline = time.monotonic() + self._settings.request_timeout_s
        for index, record in enumerate(records):
            try:
                remaining = max(0.05, deadline - time.monotonic())
                future = await asyncio.wait_for(
                    producer.send(
                        record.topic, value=record.value, key=record.key, headers=record.headers
                    ),
                    remaining,
                )
            except (KafkaError, OSError, TimeoutError):
                # Keep the order: this record and all after it are retried together.
                failed_from = index
                break
            sent.append((record, future))
        failed: list[OutgoingRecord] = []
        for record, future in sent:
            try:
                await future
            except (KafkaError, OSError, TimeoutError):
                failed.append(record)
            else:
                EVENTS_PUBLISHED.labels(topic=record.topic).inc()
        failed.extend(records[failed_from:])
        return failed
