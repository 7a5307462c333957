"""Call-control commands from ``cc.call-control.v1``, read by every gateway in its own group.

Each gateway consumes the whole topic in a consumer group of its own (``<GATEWAY_ID>-control``),
so every gateway sees every command and acts on those for calls it holds. The shared consumer
runner decodes records with the event registry, dead-letters malformed ones to ``cc.dlq.v1``
and commits offsets; the handler never fails on a command (a refusal is an answer, published as
``control.applied``), so commands are not retried into the DLQ.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from shared.events import Envelope, EventPayload
from shared.kafka.consumer import ConsumedEvent, ConsumerRunner
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings

CONTROL_TOPIC = "cc.call-control.v1"


class KafkaControlConsumer:
    """Runs the gateway's call-control consumer in the background."""

    def __init__(
        self,
        *,
        settings: KafkaSettings,
        gateway_id: str,
        dead_letters: BufferedProducer,
        deliver: Callable[[Envelope, EventPayload], object],
    ) -> None:
        self._deliver = deliver
        self.runner = ConsumerRunner(
            settings=settings,
            group_id=f"{gateway_id}-control",
            topics=[CONTROL_TOPIC],
            dead_letters=dead_letters,
            handler=self._handle,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.runner.run(), name="call-control")

    async def close(self) -> None:
        self.runner.stop()
        if self._task is not None:
            # Bounded: the runner leaves its group within a couple of request timeouts.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(self._task, 15)

    async def _handle(self, event: ConsumedEvent) -> None:
        self._deliver(event.envelope, event.payload)
