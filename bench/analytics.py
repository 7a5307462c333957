"""Analytics: ingestion of one analytics process, and analyst queries on a million turns
(``python -m bench.analytics``, part of ``make bench``).

1. Ingestion: whole calls (started, caller and agent turns, turn metrics, tool call and result,
   ended; a third of the caller turns carry PII) published to ``cc.call-events.v1`` and stored
   by one real ``python -m services.analytics`` process, redaction included: events/s from the
   first stored to the last (rows of ``call_events``, polled). Also ``default_redactor().redact``
   timed on the caller sentences themselves. When redaction is slow the run uses fewer events
   (it prints how many), so it stays within a few minutes.
2. Queries: a schema seeded with 50,000 calls and about a million turns over 30 days
   (``bench/analytics_seed.py``), served by another analytics process; p50/p95 over HTTP of
   full-text search (common and rare words, with and without a time range and line), plain
   pages and a cursor page, one call's timeline, and ``/v1/stats`` over 30 days: its first read
   (which computes the finished days live and stores their rollups) and reads after that.

Both schemas are dropped at the end, also on failure.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from bench.analytics_ingest import call_events, caller_sentences, time_redaction
from bench.analytics_seed import seed
from infra.localstack.infrastructure import Infrastructure, free_port, resolve
from services.analytics.adapters.alembic_migrations import upgrade_to_head
from services.analytics.adapters.postgres_call_log import create_engine
from services.analytics.adapters.postgres_stats import PostgresStats
from shared.auth import hash_key, new_key
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings, PostgresSettings

STATE = Path(__file__).resolve().parents[1] / ".switchboard" / "bench"
REPO = Path(__file__).resolve().parents[1]
TOPIC = "cc.call-events.v1"
MAX_EVENTS = 8_000
TURNS_PER_CALL = 8
# Redaction time the ingestion run may spend (the event count shrinks to fit it).
REDACTION_BUDGET_S = 100.0
# Share of an event's cost that is a redacted text (turns, caller, tool arguments).
TEXTS_PER_EVENT = 0.65
SEED_CALLS = 50_000
REQUESTS = 50
SEARCH_WORDS = ("order", "refund", "kayak", "birthday", "abroad", "chargeback", '"return label"')
ANALYST_KEY = new_key("analyst")


def _pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


class Service:
    """One ``python -m services.analytics`` process with its own schema, group and port."""

    def __init__(self, infra: Infrastructure, kafka: KafkaSettings, schema: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
            "DATABASE_URL": infra.database_url,
            "REDIS_URL": infra.redis_url,
            "REDIS_KEY_PREFIX": f"{kafka.topic_prefix}rl:",
            "ANALYTICS_DB_SCHEMA": schema,
            "ANALYTICS_CONSUMER_GROUP": f"bench-{schema}",
            "ANALYTICS_PORT": str(self.port),
            "AUTH_KEY_HASHES": f"analyst={hash_key(ANALYST_KEY)}",
            # The default 600/minute per key would throttle the bench, not the service.
            "AUTH_RATE_LIMIT": "100000/minute",
            "LOG_LEVEL": "WARNING",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120) -> None:
        log = (STATE / "logs" / "analytics.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.analytics"],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("analytics exited; see .switchboard/bench/logs/analytics.log")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("analytics did not become ready")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None


async def bench_ingestion(
    infra: Infrastructure, kafka: KafkaSettings, db: asyncpg.Connection, schema: str
) -> dict[str, float]:
    rng = random.Random(7)
    redaction = await asyncio.to_thread(time_redaction, caller_sentences(rng, 400))
    per_event_s = TEXTS_PER_EVENT * redaction["mean"] / 1000
    calls = max(40, min(MAX_EVENTS, int(REDACTION_BUDGET_S / per_event_s)) // 27)
    events = call_events(rng, calls, TURNS_PER_CALL)
    service = Service(infra, kafka, schema)
    await asyncio.to_thread(service.start)
    try:
        producer = BufferedProducer(kafka, client_id="bench-gw", buffer_size=len(events) + 1)
        await producer.start()
        for event in events:
            producer.publish(kafka.topic(TOPIC), event)
        await producer.flush(120)
        await producer.close()
        first, first_count, last = None, 0, 0.0
        deadline = time.monotonic() + 600
        count_sql = f'SELECT count(*) FROM "{schema}".call_events'
        while time.monotonic() < deadline:
            count = await db.fetchval(count_sql)
            now = time.perf_counter()
            if count and first is None:
                first, first_count = now, count
            if count >= len(events):
                last = now
                break
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"only {count} of {len(events)} events stored")
    finally:
        await asyncio.to_thread(service.stop)
    assert first is not None
    return {
        "events": len(events),
        "events_per_s": (len(events) - first_count) / max(last - first, 1e-6),
        "redact_p50_ms": redaction["p50"],
        "redact_p95_ms": redaction["p95"],
    }


Timed = Callable[[int], Awaitable[httpx.Response]]


async def _measure(request: Timed, n: int = REQUESTS) -> tuple[float, float]:
    await request(-1)  # warm: the first request of a kind plans and reads its pages
    costs = []
    for i in range(n):
        started = time.perf_counter()
        response = await request(i)
        costs.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return _pct(costs, 50), _pct(costs, 95)


async def bench_queries(
    infra: Infrastructure, kafka: KafkaSettings, db: asyncpg.Connection, schema: str
) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    postgres = PostgresSettings(DATABASE_URL=infra.database_url)
    await upgrade_to_head(postgres, schema)
    now = datetime.now(UTC)
    facts = {"seed_s": await seed(db, schema, calls=SEED_CALLS, now=now)}
    facts["turns"] = await db.fetchval(f'SELECT count(*) FROM "{schema}".turns')
    call_ids = [r[0] for r in await db.fetch(f'SELECT call_id FROM "{schema}".calls')]
    service = Service(infra, kafka, schema)
    await asyncio.to_thread(service.start)
    figures: dict[str, tuple[float, float]] = {}
    headers = {"Authorization": f"Bearer {ANALYST_KEY}"}
    today = now.date()
    week = {"since": (now - timedelta(days=7)).isoformat(), "until": now.isoformat()}
    try:
        async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=60) as http:

            def get(path: str, **params: str | int) -> Timed:
                return lambda _: http.get(path, params=params)

            for word in SEARCH_WORDS:
                facts[f"turns matching {word}"] = await db.fetchval(
                    f'SELECT count(*) FROM "{schema}".turns WHERE tsv @@ '
                    "websearch_to_tsquery('english', $1)",
                    word,
                )
                figures[f"search q={word}"] = await _measure(get("/v1/calls", q=word, limit=50))
                figures[f"search q={word}, 7 days, 1 line"] = await _measure(
                    get("/v1/calls", q=word, limit=50, line_id="billing", **week)
                )
            figures["list, page 1"] = await _measure(get("/v1/calls", limit=50))
            page = (await http.get("/v1/calls", params={"limit": 50})).json()
            figures["list, page 2 (cursor)"] = await _measure(
                get("/v1/calls", limit=50, cursor=page["next_cursor"])
            )
            rng = random.Random(3)
            figures["timeline /v1/calls/{id}"] = await _measure(
                lambda _: http.get(f"/v1/calls/{rng.choice(call_ids)}")
            )
            month = {"since": (today - timedelta(days=30)).isoformat(), "until": today.isoformat()}
            # The first read computes the 30 finished days live and stores their rollups on
            # the way (one sample: it happens once); today stays live on every read.
            started = time.perf_counter()
            (await http.get("/v1/stats", params=month)).raise_for_status()
            first_read = (time.perf_counter() - started) * 1000
            figures["stats 31 days, first read (rolls up 30 days)"] = (first_read, first_read)
            facts["rollup_s"] = await _roll_up(postgres, schema, today - timedelta(days=30), today)
            figures["stats 31 days, rolled up"] = await _measure(get("/v1/stats", **month))
    finally:
        await asyncio.to_thread(service.stop)
    return figures, facts


async def _roll_up(postgres: PostgresSettings, schema: str, first: date, today: date) -> float:
    """Roll up every finished day (all but today), as the nightly job does; seconds taken."""
    engine = create_engine(postgres, schema)
    stats = PostgresStats(engine, schema)
    started = time.perf_counter()
    day = first
    while day < today:
        await stats.roll_up(day)
        day += timedelta(days=1)
    await engine.dispose()
    return time.perf_counter() - started


async def main() -> None:
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=STATE, kafka_port=free_port(), database_name="switchboard_bench"
    )
    tag = uuid.uuid4().hex[:6]
    schemas = (f"bench_ingest_{tag}", f"bench_query_{tag}")
    dsn = infra.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    db = await asyncpg.connect(dsn, timeout=5, command_timeout=600)
    try:
        kafkas = [
            KafkaSettings(
                KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"ba{n}{tag}."
            )
            for n in range(2)
        ]
        for kafka in kafkas:
            await ensure_topics(kafka, load_topic_specs())
        ingest = await bench_ingestion(infra, kafkas[0], db, schemas[0])
        figures, facts = await bench_queries(infra, kafkas[1], db, schemas[1])
        _print(infra, ingest, figures, facts)
    finally:
        for schema in schemas:
            await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await db.close()
        infra.stop()


def _print(
    infra: Infrastructure,
    ingest: dict[str, float],
    figures: dict[str, tuple[float, float]],
    facts: dict[str, float],
) -> None:
    print(f"analytics ingestion ({ingest['events']:,.0f} events, one process; {infra.notes[0]})")
    print(f"  {'events stored per s':40} {ingest['events_per_s']:12,.1f}")
    print(f"  {'redaction ms/text p50 / p95':40} {ingest['redact_p50_ms']:8.2f} / "
          f"{ingest['redact_p95_ms']:.2f}")  # fmt: skip
    print(
        f"analytics queries ({SEED_CALLS:,} calls, {facts['turns']:,.0f} turns; seeded in "
        f"{facts['seed_s']:.1f} s; rollup of 30 days {facts['rollup_s']:.1f} s)"
    )
    for name, value in facts.items():
        if name.startswith("turns matching"):
            print(f"  {name:40} {value:12,.0f}")
    print(f"  {'request (over HTTP)':40} {'p50 ms':>12} {'p95 ms':>10}")
    for name, (p50, p95) in figures.items():
        print(f"  {name:40} {p50:12,.1f} {p95:10,.1f}")


if __name__ == "__main__":
    asyncio.run(main())
