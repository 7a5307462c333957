"""Read topics directly in tests (no consumer group: nothing is committed)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

Records = list[ConsumerRecord[bytes, bytes]]


@contextlib.asynccontextmanager
async def _from_start(
    bootstrap: str, topic: str, deadline: float
) -> AsyncIterator[tuple[AIOKafkaConsumer, list[TopicPartition]]]:
    """A consumer on every partition of ``topic`` from its beginning ([] if it never showed
    up by ``deadline``); stopped afterwards."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions: set[int] | None = None
        while partitions is None and time.monotonic() < deadline:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in partitions or ()]
        if tps:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
        yield consumer, tps
    finally:
        await consumer.stop()


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    expect: int,
    timeout_s: float = 20.0,
    until: Callable[[Records], bool] | None = None,
) -> Records:
    """Every record of ``topic`` from the beginning, until ``expect`` arrived (or ``until`` says
    the records read are all that is wanted) or the timeout."""
    records: Records = []
    deadline = time.monotonic() + timeout_s
    async with _from_start(bootstrap, topic, deadline) as (consumer, tps):
        if not tps:
            return records
        while len(records) < expect and time.monotonic() < deadline:
            if until is not None and until(records):
                break
            batch = await consumer.getmany(timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
        # Give stragglers (duplicates, if any) a moment to show up.
        batch = await consumer.getmany(timeout_ms=500)
        for recs in batch.values():
            records.extend(recs)
    return records


async def read_topic_to_end(bootstrap: str, topic: str, *, timeout_s: float = 20.0) -> Records:
    """Every record of ``topic`` up to its end offsets as of now (bounded by ``timeout_s``)."""
    records: Records = []
    deadline = time.monotonic() + timeout_s
    async with _from_start(bootstrap, topic, deadline) as (consumer, tps):
        ends = await consumer.end_offsets(tps) if tps else {}
        behind = {tp: end for tp, end in ends.items() if end > 0}
        while behind and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
            behind = {tp: end for tp, end in behind.items() if await consumer.position(tp) < end}
    return records
