"""When records arrive on a topic, timestamped as a consumer gets them (for latency benches)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.events import Envelope
from shared.settings import KafkaSettings


class Arrivals:
    """Reads ``topic`` from its end and keeps the first arrival time of each record's key.

    ``key_of`` names a record (a tool call id, a call id) or returns None to ignore it.
    """

    def __init__(
        self, kafka: KafkaSettings, topic: str, key_of: Callable[[Envelope], str | None]
    ) -> None:
        self.kafka = kafka
        self.topic = kafka.topic(topic)
        self.key_of = key_of
        self.arrived: dict[str, float] = {}
        self.event = asyncio.Event()

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic)
            while not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(self.topic)
            consumer.assign([TopicPartition(self.topic, p) for p in partitions])
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                now = time.perf_counter()
                for records in batch.values():
                    for record in records:
                        key = self.key_of(Envelope.from_json(record.value))
                        if key is not None:
                            self.arrived.setdefault(key, now)
                if batch:
                    self.event.set()
        finally:
            await consumer.stop()

    async def wait_count(self, count: int, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.arrived) < count:
                self.event.clear()
                await self.event.wait()

    async def wait_for(self, keys: set[str], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not keys <= self.arrived.keys():
                self.event.clear()
                await self.event.wait()
