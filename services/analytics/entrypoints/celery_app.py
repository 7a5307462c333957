"""Celery worker and beat of the analytics service (scheduled jobs).

This module is an entrypoint like ``__main__``: Celery's CLI (``celery -A
services.analytics.entrypoints.celery_app worker|beat``) imports it by name, so the settings are
built here, once, when a worker or beat process starts. Redis is the broker.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from celery import Celery

from services.analytics.jobs import purge_expired, roll_up_days
from services.analytics.settings import AnalyticsSettings
from shared.telemetry.logs import setup_logging

log = logging.getLogger(__name__)
PURGE_EVERY_S = 3600.0
# Hourly too: a day's rollup lands within the hour after midnight UTC (and is redone once
# the next day, for late events).
ROLLUP_EVERY_S = 3600.0


def create_celery_app(settings: AnalyticsSettings) -> Celery:
    broker = settings.redis.url.get_secret_value()
    celery = Celery("switchboard-analytics", broker=broker, backend=broker)
    celery.conf.update(
        task_acks_late=True,  # a worker killed mid-task leaves it to be redelivered
        task_reject_on_worker_lost=True,
        task_time_limit=600,  # hard bound on any job
        task_soft_time_limit=540,
        broker_connection_retry_on_startup=True,
        result_expires=86_400,
        worker_hijack_root_logger=False,
        # Its own queue: workers of other apps on the same Redis never take these jobs.
        task_default_queue=settings.celery_queue,
        beat_schedule={
            "purge-expired-calls": {
                "task": "analytics.purge_expired_calls",
                "schedule": PURGE_EVERY_S,
            },
            "roll-up-days": {"task": "analytics.roll_up_days", "schedule": ROLLUP_EVERY_S},
        },
    )

    @celery.task(name="analytics.purge_expired_calls")  # type: ignore[untyped-decorator]
    def purge_expired_calls() -> dict[str, Any]:
        """Delete calls that ended more than the retention period ago."""
        deleted = asyncio.run(purge_expired(settings))
        log.info("expired calls purged", extra={"calls_deleted": deleted})
        return {"calls_deleted": deleted}

    @celery.task(name="analytics.roll_up_days")  # type: ignore[untyped-decorator]
    def roll_up() -> dict[str, Any]:
        """Store the daily rollups /v1/stats reads for finished days; create next partitions."""
        result = asyncio.run(roll_up_days(settings))
        log.info("daily rollups stored", extra={"partitions_created": result["partitions_created"]})
        return result

    return celery


_settings = AnalyticsSettings()
setup_logging("analytics-celery", _settings.telemetry)
app = create_celery_app(_settings)
