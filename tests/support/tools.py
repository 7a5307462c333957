"""Helpers for the tools-service tests: config with an HTTP tool, commands, a result tail."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from infra.localstack.infrastructure import free_port
from services.tools.seed.loader import seed_crm
from shared.events import Envelope, ToolExecute, new_event
from shared.kafka.producer import BufferedProducer
from shared.lines import DEFAULT_LINES_DIR, DEFAULT_TOOLS_DIR
from shared.settings import KafkaSettings, PostgresSettings
from tests.support.processes import ServiceProcess


def write_config(root: Path, http_base: str) -> Path:
    """A config dir: the real tools and demo line, plus line ``test-http`` whose tools call
    ``http_base`` (``slow_lookup`` GET /slow/{order_id}). Returns the lines dir."""
    shutil.copytree(DEFAULT_TOOLS_DIR, root / "tools")
    shutil.copytree(DEFAULT_LINES_DIR, root / "lines")
    line = {
        "line_id": "test-http",
        "name": "HTTP connector test line",
        "tools": [
            "create_ticket",
            {
                "name": "slow_lookup",
                "description": "Looks an order up in the team's own system",
                "backend": "http",
                "timeout_seconds": 5,
                "parameters": {
                    "type": "object",
                    "required": ["order_id"],
                    "properties": {"order_id": {"type": "string"}},
                },
                "http": {"url": http_base + "/slow/{order_id}", "response": {"status": "status"}},
            },
        ],
    }
    (root / "lines" / "test-http.yaml").write_text(yaml.safe_dump(line))
    return root / "lines"


def command(
    name: str,
    arguments: dict[str, Any],
    *,
    call_id: str,
    within_s: float = 20.0,
    key: str | None = None,
    line_id: str = "demo-retail",
    reply_to: str = "gw-test",
) -> Envelope:
    payload = ToolExecute(
        tool_call_id=f"tc_{uuid.uuid4().hex[:10]}",
        name=name,
        arguments=arguments,
        deadline_at=datetime.now(UTC) + timedelta(seconds=within_s),
        idempotency_key=key,
        reply_to=reply_to,
    )
    return new_event(payload, call_id=call_id, line_id=line_id, source="test")


class Tail:
    """Every record of one topic from its beginning, read in the background."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self._bootstrap = bootstrap
        self._topic = topic
        self._arrived = asyncio.Event()

    def envelopes(self) -> list[Envelope]:
        return [Envelope.from_json(r.value) for r in self.records if r.value]

    def payloads(self, event_type: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.envelopes() if e.type == event_type]

    async def wait_for(self, predicate: Any, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._arrived.clear()
                await self._arrived.wait()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Tail]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = None
            async with asyncio.timeout(20):
                while not partitions:
                    partitions = consumer.partitions_for_topic(self._topic)
                    if not partitions:
                        await consumer._client.force_metadata_update()
                        await asyncio.sleep(0.1)
            tps = [TopicPartition(self._topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            task = asyncio.create_task(self._read(consumer))
            try:
                yield self
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await consumer.stop()

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=50)
            for records in batch.values():
                self.records.extend(records)
            if batch:
                self._arrived.set()


# -- fixtures (import them into a test module) ----------------------------------------


@contextlib.asynccontextmanager
async def hanging_http() -> AsyncIterator[str]:
    """An HTTP server that accepts requests and never answers; yields its base URL."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()


@pytest.fixture
async def hanging_server() -> AsyncIterator[str]:
    """An HTTP server that accepts requests and never answers."""
    async with hanging_http() as url:
        yield url


@pytest.fixture
async def tools_env(
    service_env: dict[str, str],
    postgres: PostgresSettings,
    db_schema: str,
    unique: str,
    tmp_path: Path,
    hanging_server: str,
) -> dict[str, str]:
    await seed_crm(postgres, db_schema, customers=300, orders=1500, now=datetime.now(UTC))
    return {
        **service_env,
        "TOOLS_DB_SCHEMA": db_schema,
        "TOOLS_CONSUMER_GROUP": f"tools-{unique}",
        "LINES_DIR": str(write_config(tmp_path / "config", hanging_server)),
    }


@pytest.fixture
def tools(tools_env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess("tools", free_port(), tools_env, log_dir).start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def producer(kafka: KafkaSettings) -> AsyncIterator[BufferedProducer]:
    producer = BufferedProducer(kafka, client_id="test-gateway")
    await producer.start()
    yield producer
    await producer.close()
