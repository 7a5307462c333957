"""Queue the tools service's side effects as Celery tasks (Redis broker, queue ``tools``)."""

from __future__ import annotations

import asyncio
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError

from services.tools.domain.execution import BackendError
from services.tools.settings import ToolsSettings

RETURN_LABEL_TASK = "tools.send_return_label"
ENQUEUE_TIMEOUT_S = 2.0


def celery_client(settings: ToolsSettings) -> Celery:
    """A Celery app that only sends tasks (what the tools service holds); publishing is bounded:
    one quick retry, then the enqueue fails and the tool answers ``label: delayed``."""
    celery = Celery("switchboard-tools", broker=settings.redis.url.get_secret_value())
    celery.conf.update(
        task_default_queue=settings.mail.queue,
        broker_connection_timeout=settings.redis.timeout_s,
        broker_connection_retry=False,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0.1},
    )
    return celery


class CelerySideEffects:
    """``SideEffects`` by ``send_task`` (by name: the service does not import the worker)."""

    def __init__(self, celery: Any, queue: str) -> None:
        self._celery = celery
        self._queue = queue

    async def send_return_label(
        self, *, rma_id: str, call_id: str, line_id: str, tool_call_id: str
    ) -> None:
        kwargs = {"rma_id": rma_id, "call_id": call_id, "line_id": line_id,
                  "tool_call_id": tool_call_id}  # fmt: skip
        try:
            # send_task blocks on the broker connection: a thread, bounded.
            await asyncio.wait_for(
                asyncio.to_thread(
                    self._celery.send_task, RETURN_LABEL_TASK, kwargs=kwargs, queue=self._queue
                ),
                ENQUEUE_TIMEOUT_S,
            )
        except (OperationalError, OSError, TimeoutError) as exc:
            raise BackendError("The label could not be queued.", retryable=True) from exc
