"""Composition root of the analytics service: settings in, a running app out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from services.analytics.adapters.alembic_migrations import upgrade_to_head
from services.analytics.adapters.counted_redactor import CountedRedactor
from services.analytics.adapters.kafka_live_feed import KafkaLiveFeed
from services.analytics.adapters.postgres_call_log import PostgresCallLog, create_engine
from services.analytics.adapters.postgres_live import PostgresLiveQueries
from services.analytics.adapters.postgres_live_calls import PostgresLiveCalls
from services.analytics.adapters.postgres_queries import PostgresCallQueries
from services.analytics.adapters.postgres_stats import PostgresStats
from services.analytics.domain.call_log import CallerMemory
from services.analytics.domain.live_board import LiveBoard
from services.analytics.entrypoints import dashboard, http, live, live_control
from services.analytics.handlers import handle_call_events, redact_live_batch
from services.analytics.live_hub import LiveHub
from services.analytics.ports import LiveCalls
from services.analytics.settings import AnalyticsSettings
from shared.auth import KeyRing
from shared.events import Envelope, EventPayload
from shared.http.app import ERROR_RESPONSES, health_router, install_keyring
from shared.http.body_limit import install_body_limit
from shared.http.ratelimit import KeyRateLimiter
from shared.kafka.consumer import ConsumedEvent, ConsumerRunner
from shared.kafka.producer import BufferedProducer
from shared.lines import load_lines
from shared.redaction import default_redactor

log = logging.getLogger(__name__)

CALL_EVENTS_TOPIC = "cc.call-events.v1"


class LiveDashboard:
    """The live feed's parts: the hub, the Kafka feed, and the tasks that run them."""

    def __init__(self, settings: AnalyticsSettings, engine: Any, keep_terms: list[str]) -> None:
        self._settings = settings
        self.hub = LiveHub(LiveBoard(), PostgresLiveQueries(engine))
        # Its own redactor handle (uncounted: the call log counts each finding once) and its own
        # caller memory, so split PII is caught the same way as in the call log.
        self._redactor = CountedRedactor(default_redactor(), keep_terms, counted=False)
        self._memory = CallerMemory(settings.caller_memory_calls)
        self.feed = KafkaLiveFeed(settings.kafka, CALL_EVENTS_TOPIC, self._show)
        self._tasks: list[asyncio.Task[None]] = []

    async def _show(self, events: list[tuple[Envelope, EventPayload]]) -> None:
        redacted = await asyncio.to_thread(
            redact_live_batch, events, redactor=self._redactor, memory=self._memory
        )
        self.hub.apply(redacted)

    async def start(self) -> None:
        """Start consuming at once (the newest offset), then load the open calls."""
        self._spawn(self.feed.run(), "live-feed")
        since = datetime.now(UTC) - timedelta(hours=self._settings.live_bootstrap_hours)
        try:
            await asyncio.wait_for(self.hub.bootstrap(since), 30)
        except Exception:
            log.warning("live board started without the open calls", exc_info=True)
        self._spawn(self.hub.run_batches(), "live-batches")
        self._spawn(self.hub.run_kpis(), "live-kpis")

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def stop(self) -> None:
        self.feed.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def create_app(settings: AnalyticsSettings) -> FastAPI:
    """The analytics app: call-log consumer, analyst API, supervisor dashboard, health."""
    engine = create_engine(settings.postgres, settings.db_schema)
    call_log = PostgresCallLog(engine, settings.db_schema)
    lines = load_lines(settings.lines_dir)
    keep_terms = [term for line in lines.values() for term in line.keep_terms]
    redactor = CountedRedactor(default_redactor(), keep_terms)
    memory = CallerMemory(settings.caller_memory_calls)
    dead_letters = BufferedProducer(settings.kafka, client_id="analytics-dlq")
    # Supervisors' commands: each request waits for the broker's ack (send_now), never buffered.
    commands = BufferedProducer(settings.kafka, client_id="analytics-control")
    live_dashboard = LiveDashboard(settings, engine, keep_terms) if settings.live_enabled else None
    # Which calls are live, for the controls: the live board knows at once; without it, the
    # call log is read every second.
    polled_live_calls = PostgresLiveCalls(engine)
    live_calls: LiveCalls = (
        live_dashboard.hub.board if live_dashboard is not None else polled_live_calls
    )

    async def store(events: list[ConsumedEvent]) -> None:
        await handle_call_events(events, call_log=call_log, redactor=redactor, memory=memory)

    runner = ConsumerRunner(
        settings=settings.kafka,
        group_id=settings.consumer_group,
        topics=[CALL_EVENTS_TOPIC],
        batch_handler=store,
        dead_letters=dead_letters,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_to_head(settings.postgres, settings.db_schema)
        # Load the redaction models before the first event or request needs them.
        await asyncio.to_thread(redactor.redact, "warm up")
        await dead_letters.start()
        consuming = asyncio.create_task(runner.run(), name="analytics-consumer")
        if live_dashboard is not None:
            await live_dashboard.start()
        watching = (
            None
            if live_dashboard is not None
            else asyncio.create_task(polled_live_calls.run(), name="analytics-live-calls")
        )
        try:
            yield
        finally:
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            if live_dashboard is not None:
                await live_dashboard.stop()
            runner.stop()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(consuming, settings.kafka.record_timeout_s + 15)
            await commands.close()
            await dead_letters.close()
            await engine.dispose()

    async def consumer_running() -> bool:
        return runner.running and not runner.stalled

    app = FastAPI(
        title="Switchboard analytics", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES
    )
    app.state.settings = settings
    app.state.call_log = call_log
    app.state.queries = PostgresCallQueries(engine)
    app.state.stats = PostgresStats(engine, settings.db_schema)
    app.state.redactor = redactor
    app.state.runner = runner
    app.state.live_calls = live_calls
    app.state.control = live_control.ControlDeps(
        producer=commands, topic=settings.kafka.topic(live_control.CALL_CONTROL_TOPIC), lines=lines
    )
    app.state.rate_limiter = KeyRateLimiter(
        settings.redis.url.get_secret_value(),
        settings.auth.rate_limit,
        service="analytics",
        key_prefix=settings.redis.key_prefix,
    )
    install_keyring(app, KeyRing.from_spec(settings.auth.key_hashes))
    install_body_limit(app, settings.http.max_body_bytes)
    app.include_router(health_router({"postgres": call_log.ping, "kafka": consumer_running}))
    app.include_router(http.router)
    app.state.live_hub = live_dashboard.hub if live_dashboard is not None else None
    app.include_router(live.router)
    app.include_router(live_control.router)
    app.include_router(dashboard.router)
    return app
