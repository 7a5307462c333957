"""The live dashboard's Kafka feed: every call event, from the newest offset, no consumer group.

Each analytics process reads the whole topic for itself (``group_id=None``: nothing committed,
every process sees every call) starting at the newest offset; the open calls before that come
from the call log (``PostgresLiveQueries.open_calls``). The feed never ends the service: when
the broker goes away it reconnects with backoff and starts again from the newest offset (the
events published meanwhile are not shown live; the call log still stores them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from shared.events import Envelope, EventPayload
from shared.events.registry import decode_envelope
from shared.kafka.producer import backoff_delay
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

LiveBatchHandler = Callable[[list[tuple[Envelope, EventPayload]]], Awaitable[None]]
# Records handed over per batch (bounded: the rest wait in the consumer for the next getmany).
MAX_BATCH = 500
# Backoff cap while the broker is away: how long its return may go unnoticed.
RECONNECT_MAX_S = 5.0
START_TIMEOUT_S = 30.0


class KafkaLiveFeed:
    """Hands batches of decoded call events to ``handler`` until ``stop()``."""

    def __init__(self, settings: KafkaSettings, topic: str, handler: LiveBatchHandler) -> None:
        self._settings = settings
        self._topic = settings.topic(topic)
        self._handler = handler
        self._stopping = asyncio.Event()
        self.running = False
        self.malformed = 0  # records that did not decode (skipped)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Consume until ``stop()``; a lost broker is retried with backoff, never raised."""
        attempt = 0
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                self._topic,
                bootstrap_servers=self._settings.bootstrap_servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="latest",
                fetch_max_wait_ms=self._settings.fetch_max_wait_ms,
                request_timeout_ms=int(self._settings.request_timeout_s * 1000) + 35_000,
            )
            try:
                await asyncio.wait_for(consumer.start(), START_TIMEOUT_S)
                attempt = 0
                self.running = True
                await self._consume(consumer)
            except (KafkaError, OSError, TimeoutError):
                attempt += 1
                log.warning("live feed lost the broker; reconnecting", extra={"attempt": attempt})
            except Exception:
                # Anything else is a bug, not a reason to leave the dashboard dark: start over.
                attempt += 1
                log.warning("live feed failed; restarting", exc_info=True)
            finally:
                self.running = False
                with contextlib.suppress(KafkaError, OSError, TimeoutError):
                    await asyncio.wait_for(consumer.stop(), self._settings.request_timeout_s * 2)
            if attempt:
                with contextlib.suppress(TimeoutError):
                    delay = backoff_delay(attempt, high=RECONNECT_MAX_S)
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=500, max_records=MAX_BATCH)
            events: list[tuple[Envelope, EventPayload]] = []
            for records in batches.values():
                for record in records:
                    try:
                        events.append(decode_envelope(record.value or b""))
                    except ValueError:
                        self.malformed += 1
                        log.warning("live feed skipped a malformed record")
            if not events:
                continue
            try:
                await self._handler(events)
            except Exception:
                # A bug in showing a batch must not stop the feed: the next batch goes on.
                log.warning("live feed handler failed; batch skipped", exc_info=True)
