"""Server tools over Kafka: ``tool.execute`` out on ``cc.tool-requests.v1``, and the matching
``tool.completed`` back from ``cc.tool-results.v1``.

Results must reach the gateway process that holds the call, whichever partition they land on.
Each gateway reads every partition of the results topic itself (manual assignment, no consumer
group: nothing to join, so it is listening within a second of start), from the end, and keeps
the records whose ``reply_to`` is its own id. That costs each gateway a read of all results,
which are small and few next to audio; a deployment with very many gateways can give each its
own results topic instead (``reply_to`` already names the address).

Tracing: a call runs in a span ``tool`` (a child of the turn's dialogue), whose context the
request carries in its headers; the tools service's answer carries its own ``tool.execute``
context back, and handing the answer to the waiting call is a span ``tool.result`` under it.
Attributes name the tool and its status, never its arguments or result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import trace

from services.gateway.dialogue.agent import AgentTool, ToolOutcome
from shared.events import Envelope, ToolCompleted, ToolExecute, new_event
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings
from shared.telemetry.tracing import extract_context

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

REQUESTS_TOPIC = "cc.tool-requests.v1"
RESULTS_TOPIC = "cc.tool-results.v1"
# Tool calls this gateway may wait on at once; past it a call fails at once ("busy").
MAX_PENDING_CALLS = 5_000
# How long past the deadline we still wait for the tools service's own timeout answer.
DEADLINE_GRACE_S = 0.5
START_TIMEOUT_S = 15.0


class KafkaToolClient:
    """Runs server tools through the tools service and waits for their results."""

    def __init__(
        self, *, producer: BufferedProducer, settings: KafkaSettings, gateway_id: str
    ) -> None:
        self._producer = producer
        self._settings = settings
        self._gateway_id = gateway_id
        self._pending: dict[str, asyncio.Future[ToolCompleted]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen_forever(), name="tool-results")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for future in self._pending.values():
            future.cancel()

    async def run(
        self,
        *,
        session_id: str,
        line_id: str,
        tool_call_id: str,
        tool: AgentTool,
        arguments: dict[str, Any],
    ) -> ToolOutcome:
        """Execute ``tool`` remotely; the outcome arrives by the tool's deadline, always."""
        attributes = {"tool.name": tool.name, "tool.call_id": tool_call_id, "call.id": session_id}
        with tracer.start_as_current_span(
            "tool", kind=trace.SpanKind.PRODUCER, attributes={**attributes, "stage": "tool"}
        ) as span:
            outcome = await self._run(session_id, line_id, tool_call_id, tool, arguments)
            span.set_attribute("status", outcome.status)
            return outcome

    async def _run(
        self,
        session_id: str,
        line_id: str,
        tool_call_id: str,
        tool: AgentTool,
        arguments: dict[str, Any],
    ) -> ToolOutcome:
        started = time.monotonic()
        if len(self._pending) >= MAX_PENDING_CALLS or tool_call_id in self._pending:
            return ToolOutcome("error", error="the system is busy; try again shortly")
        if not self.listening.is_set():
            # A result published before we listen would be missed: wait (bounded) to listen.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listening.wait(), min(2.0, tool.timeout_s / 2))
            if not self.listening.is_set():
                return ToolOutcome("error", error="could not reach the order system")
        deadline = datetime.now(UTC) + timedelta(seconds=tool.timeout_s)
        command = ToolExecute(
            tool_call_id=tool_call_id,
            name=tool.name,
            arguments=arguments,
            deadline_at=deadline,
            idempotency_key=f"{session_id}:{tool_call_id}",
            reply_to=self._gateway_id,
        )
        future: asyncio.Future[ToolCompleted] = asyncio.get_running_loop().create_future()
        self._pending[tool_call_id] = future
        try:
            envelope = new_event(
                command, call_id=session_id, line_id=line_id, source=self._gateway_id
            )
            if not self._producer.publish(self._settings.topic(REQUESTS_TOPIC), envelope):
                return ToolOutcome("error", error="could not reach the order system")
            try:
                done = await asyncio.wait_for(future, tool.timeout_s + DEADLINE_GRACE_S)
            except TimeoutError:
                return ToolOutcome(
                    "timeout",
                    error="the order system did not answer in time",
                    duration_ms=int((time.monotonic() - started) * 1000),
                )
        finally:
            self._pending.pop(tool_call_id, None)
        return ToolOutcome(
            done.status,
            result=done.result,
            error=done.error,
            duration_ms=done.duration_ms,
        )

    # -- results -------------------------------------------------------------------------------

    async def _listen_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError, TimeoutError):
                log.warning("tool results unavailable; retrying")
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _listen(self) -> None:
        topic = self._settings.topic(RESULTS_TOPIC)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            client_id=f"{self._gateway_id}-tool-results",
            enable_auto_commit=False,
            auto_offset_reset="latest",
            # tansu holds an empty fetch for the whole wait (500 ms by default): every tool
            # result would wait for it. 10 ms keeps the round trip near 20 ms.
            fetch_max_wait_ms=10,
            request_timeout_ms=int(self._settings.request_timeout_s * 1000) + 35_000,
        )
        await asyncio.wait_for(consumer.start(), START_TIMEOUT_S)
        try:
            partitions = await self._partitions(consumer, topic)
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:
                await consumer.position(partition)  # settle "latest" before anyone waits
            self.listening.set()
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                for records in batches.values():
                    for record in records:
                        self._deliver(record.value, record.headers)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
        for _ in range(50):
            found = consumer.partitions_for_topic(topic)
            if found:
                return [TopicPartition(topic, p) for p in sorted(found)]
            await consumer._client.force_metadata_update()  # the topic may be created just now
            await asyncio.sleep(0.1)
        raise TimeoutError(f"topic {topic} has no partitions")

    def _deliver(self, raw: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> None:
        try:
            envelope = Envelope.from_json(raw or b"")
            if envelope.type != ToolCompleted.event_type:
                return
            completed = ToolCompleted.model_validate(envelope.payload)
        except ValueError:
            log.warning("unreadable record on the tool results topic")
            return
        if completed.reply_to != self._gateway_id:
            return
        future = self._pending.get(completed.tool_call_id)
        if future is None or future.done():
            return  # late (the call timed out here) or a redelivery
        with tracer.start_as_current_span(
            "tool.result",
            context=extract_context(headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "tool.name": completed.name,
                "tool.call_id": completed.tool_call_id,
                "call.id": envelope.call_id,
                "status": completed.status,
            },
        ):
            future.set_result(completed)
