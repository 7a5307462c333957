"""Celery worker of the tools service: slow side effects (the return-label email).

``celery -A services.tools.entrypoints.celery_app worker -Q tools`` (``TOOLS_CELERY_QUEUE``).
Its own app and queue: the analytics worker runs analytics' jobs, this one the tools
service's, each scaled on its own (``make up`` runs one of each). Like ``__main__`` it
builds the settings once, at start.

Retries: exponential backoff from ``TOOLS_MAIL_RETRY_BACKOFF_S``, ``TOOLS_MAIL_MAX_RETRIES``
times; after the last, a dead-letter row and a ``tool.side_effect`` event with status failed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from celery import Celery, Task

from services.tools.labels import LabelJob, record_failure, send_return_label
from services.tools.settings import ToolsSettings
from shared.telemetry.logs import setup_logging

log = logging.getLogger(__name__)


def create_celery_app(settings: ToolsSettings) -> Celery:
    broker = settings.redis.url.get_secret_value()
    celery = Celery("switchboard-tools", broker=broker)
    celery.conf.update(
        task_default_queue=settings.mail.queue,
        task_acks_late=True,  # a worker killed mid-task leaves it to be redelivered
        task_reject_on_worker_lost=True,
        task_time_limit=120,  # hard bound on one email
        task_soft_time_limit=100,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=settings.redis.timeout_s,
        worker_hijack_root_logger=False,
        worker_prefetch_multiplier=1,
    )
    mail = settings.mail

    @celery.task(  # type: ignore[untyped-decorator]
        name="tools.send_return_label", bind=True, max_retries=mail.max_retries
    )
    def send_label(task: Task, **kwargs: Any) -> str:
        """Email the return label; retried with backoff, dead-lettered after the last try."""
        job = LabelJob(**kwargs)
        try:
            return asyncio.run(send_return_label(settings, job))
        except Exception as exc:
            attempts = task.request.retries + 1
            if task.request.retries >= mail.max_retries:
                log.warning("return label failed for good", extra={"attempts": attempts})
                asyncio.run(record_failure(settings, job, f"{type(exc).__name__}: {exc}", attempts))
                return "failed"
            log.warning("return label failed; retrying", extra={"attempts": attempts})
            raise task.retry(
                exc=exc, countdown=mail.retry_backoff_s * 2**task.request.retries
            ) from exc

    return celery


_settings = ToolsSettings()
setup_logging("tools-celery", _settings.telemetry)
app = create_celery_app(_settings)
