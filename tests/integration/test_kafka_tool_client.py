"""The gateway's server-tool path over a real broker: request out, the right result back.

A stand-in tools service (a plain consumer of ``cc.tool-requests.v1`` in this test) answers the
commands, so what is tested is the gateway adapter: the command it publishes, that each gateway
keeps only the results addressed to it, and the deadline when nobody answers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.gateway.adapters.kafka_tools import REQUESTS_TOPIC, RESULTS_TOPIC, KafkaToolClient
from services.gateway.dialogue.agent import AgentTool
from shared.events import Envelope, ToolCompleted, ToolExecute, new_event
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings

TOOL = AgentTool(
    name="order_status",
    description="Look up an order",
    parameters={"type": "object"},
    executor="server",
    timeout_s=4.0,
)


@pytest.fixture
async def producer(kafka: KafkaSettings) -> AsyncIterator[BufferedProducer]:
    p = BufferedProducer(kafka, client_id="gateway-test")
    await p.start()
    yield p
    await p.close()


async def _client(
    producer: BufferedProducer, kafka: KafkaSettings, gateway_id: str
) -> KafkaToolClient:
    client = KafkaToolClient(producer=producer, settings=kafka, gateway_id=gateway_id)
    await client.start()
    await asyncio.wait_for(client.listening.wait(), 20)
    return client


async def _tools_service(
    kafka: KafkaSettings, producer: BufferedProducer, seen: list[Envelope], *, answer: bool = True
) -> None:
    """Answer every tool.execute: ok, with the order id echoed; also a decoy for another gateway."""
    # Every partition, from the start, without a group (joining one takes seconds on tansu).
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers)
    try:
        await consumer.start()
        topic = kafka.topic(REQUESTS_TOPIC)
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic) or set()
        assert found, f"{topic} has no partitions"
        partitions = [TopicPartition(topic, p) for p in sorted(found)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        async for record in consumer:
            envelope = Envelope.from_json(record.value)
            seen.append(envelope)
            if not answer:
                continue
            command = ToolExecute.model_validate(envelope.payload)
            for reply_to, order in (("gw-somewhere-else", "ORD-00000"), (command.reply_to, None)):
                completed = ToolCompleted(
                    tool_call_id=command.tool_call_id,
                    name=command.name,
                    status="ok",
                    result={"order_id": order or command.arguments["order_id"]},
                    duration_ms=3,
                    attempts=1,
                    reply_to=reply_to,
                )
                producer.publish(
                    kafka.topic(RESULTS_TOPIC),
                    new_event(completed, call_id=envelope.call_id, source="tools"),
                )
    finally:
        await consumer.stop()


async def test_a_server_tool_result_comes_back_to_the_gateway_that_asked(
    kafka: KafkaSettings, producer: BufferedProducer
) -> None:
    seen: list[Envelope] = []
    service = asyncio.create_task(_tools_service(kafka, producer, seen))
    client = await _client(producer, kafka, "gw-a")
    try:
        outcome = await client.run(
            session_id="sess_1",
            line_id="demo-retail",
            tool_call_id="call_1",
            tool=TOOL,
            arguments={"order_id": "ORD-77315"},
        )
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
        await client.close()

    # The decoy result for another gateway, published first with the same call id, was ignored.
    assert outcome.status == "ok"
    assert outcome.result == {"order_id": "ORD-77315"}
    command = ToolExecute.model_validate(seen[0].payload)
    assert seen[0].call_id == "sess_1" and seen[0].line_id == "demo-retail"
    assert command.reply_to == "gw-a"
    assert command.idempotency_key == "sess_1:call_1"
    remaining = (command.deadline_at - datetime.now(UTC)).total_seconds()
    assert 0 < remaining <= TOOL.timeout_s


async def test_no_answer_is_a_timeout_at_the_deadline_not_a_hang(
    kafka: KafkaSettings, producer: BufferedProducer
) -> None:
    seen: list[Envelope] = []
    service = asyncio.create_task(_tools_service(kafka, producer, seen, answer=False))
    client = await _client(producer, kafka, "gw-b")
    quick = AgentTool(
        name="order_status", description="x", parameters={}, executor="server", timeout_s=1.0
    )
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        outcome = await client.run(
            session_id="sess_2",
            line_id="demo-retail",
            tool_call_id="call_2",
            tool=quick,
            arguments={"order_id": "ORD-1"},
        )
        waited = loop.time() - started
    finally:
        service.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await service
        await client.close()

    assert outcome.status == "timeout"
    assert "did not answer in time" in (outcome.error or "")
    assert 1.0 <= waited < 3.0  # the deadline plus the grace, never open-ended
