"""The analytics jobs through a real Celery worker (Redis broker): rollups and retention."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from celery import Celery

from services.analytics.adapters.alembic_migrations import upgrade_to_head
from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.tools.seed.loader import plain_dsn
from shared.settings import PostgresSettings
from tests.integration.test_call_log_postgres import _call, _changes
from tests.support.processes import REPO


@pytest.mark.slow
async def test_the_worker_rolls_up_finished_days_and_purges_expired_calls(
    postgres: PostgresSettings, db_schema: str, unique: str, infra, log_dir: Path
) -> None:
    await upgrade_to_head(postgres, db_schema)
    engine = create_engine(postgres, db_schema)
    now = datetime.now(UTC)
    yesterday = now.date() - timedelta(days=1)
    noon = datetime(yesterday.year, yesterday.month, yesterday.day, 12, tzinfo=UTC)
    log = PostgresCallLog(engine, db_schema)
    await log.apply_many(_changes(_call("sess_job_kept", noon)))
    await log.apply_many(_changes(_call("sess_job_old", now - timedelta(days=400), line="x")))
    await engine.dispose()
    queue = f"analytics-{unique}"
    env = {**os.environ, "DATABASE_URL": infra.database_url, "REDIS_URL": infra.redis_url,
           "ANALYTICS_DB_SCHEMA": db_schema, "ANALYTICS_CELERY_QUEUE": queue}  # fmt: skip
    worker = _start_worker(env, log_dir / "celery-analytics.log")
    client = Celery(broker=infra.redis_url, backend=infra.redis_url)
    try:
        rolled = client.send_task("analytics.roll_up_days", queue=queue)
        result = await asyncio.to_thread(rolled.get, timeout=60)
        assert result["lines_rolled_up"][yesterday.isoformat()] == 1
        purged = client.send_task("analytics.purge_expired_calls", queue=queue)
        assert await asyncio.to_thread(purged.get, timeout=60) == {"calls_deleted": 1}
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 30)
        client.close()
    conn = await asyncpg.connect(plain_dsn(postgres))
    try:
        rows = await conn.fetch(f'SELECT day, line_id, calls FROM "{db_schema}".daily_stats')
        calls = await conn.fetch(f'SELECT call_id FROM "{db_schema}".calls')
    finally:
        await conn.close()
    assert [tuple(r) for r in rows] == [(yesterday, "demo-retail", 1)]
    assert [r["call_id"] for r in calls] == ["sess_job_kept"]


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "celery", "-A", "services.analytics.entrypoints.celery_app",
            "worker", "--pool=solo", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel=INFO"]  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
