"""Composition root of the session service: settings in, a running app out.

It consumes ``cc.call-events.v1`` (group ``SESSION_CONSUMER_GROUP``): each event updates the
live session registry in Redis and the call's escalation signals; what the handlers return
(``sentiment.scored``, ``escalation.requested``, ``handoff`` commands) is published. It also
reads ``cc.call-control.v1`` (group ``SESSION_CONTROL_CONSUMER_GROUP``) for supervisors'
takeovers, which go to the agent desk. The line
files are watched, so rule changes take effect without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import FastAPI
from redis.asyncio import Redis

from services.session import handlers
from services.session.adapters.agents_yaml import load_agents
from services.session.adapters.escalation_models import EscalationModels
from services.session.adapters.http_call_log import AnalyticsCallContext, AnalyticsCallLog
from services.session.adapters.redis_registry import RedisSessionRegistry
from services.session.adapters.yaml_lines import LineBook
from services.session.domain.agents import AgentDirectory
from services.session.entrypoints import backtest, http
from services.session.entrypoints.desk import desk_router
from services.session.handoff_desk import DeskTopics, HandoffDesk
from services.session.ports import SystemClock
from services.session.settings import SessionSettings
from shared.auth import KeyRing
from shared.http.app import ERROR_RESPONSES, health_router, install_keyring
from shared.http.body_limit import install_body_limit
from shared.http.ratelimit import KeyRateLimiter
from shared.kafka.consumer import ConsumedEvent, ConsumerRunner
from shared.kafka.producer import BufferedProducer

log = logging.getLogger(__name__)


def create_app(settings: SessionSettings) -> FastAPI:
    redis = Redis.from_url(
        settings.redis.url.get_secret_value(),
        socket_timeout=settings.redis.timeout_s,
        socket_connect_timeout=settings.redis.timeout_s,
    )
    book = LineBook(settings.lines_dir)
    registry = RedisSessionRegistry(redis, prefix=settings.redis.key_prefix)
    producer = BufferedProducer(settings.kafka, client_id=settings.session_id)
    models = EscalationModels.load()
    engine = models.engine(lambda: book.lines)
    analytics_key = settings.analytics_key.get_secret_value() if settings.analytics_key else None
    call_log = AnalyticsCallLog(settings.analytics_url, analytics_key)
    topic = settings.kafka.topic
    desk = HandoffDesk(
        agents=AgentDirectory(load_agents(settings.agents_file).agents),
        redis=redis,
        publisher=producer,
        context=AnalyticsCallContext(call_log, registry),
        clock=SystemClock(),
        lines=book.lines,
        source=settings.session_id,
        redis_prefix=settings.redis.key_prefix,
        registry=registry,
        topics=DeskTopics(
            call_events=topic(handlers.CALL_EVENTS_TOPIC),
            call_control=topic(handlers.CALL_CONTROL_TOPIC),
            tool_requests=topic("cc.tool-requests.v1"),
        ),
    )
    deps = handlers.SessionDeps(
        registry=registry, lines=book.lines, source=settings.session_id, engine=engine, queue=desk
    )

    async def handle(event: ConsumedEvent) -> None:
        results = await handlers.handle_call_event(event.envelope, event.payload, deps)
        for out in results:
            if isinstance(out, handlers.Outgoing):
                producer.publish(settings.kafka.topic(out.topic), out.envelope)
        if any(isinstance(out, handlers.Enqueue) for out in results):
            # The handoff command first; a broker too slow for that must not keep the caller
            # from the queue (the gateway still gets the command when the broker catches up).
            with contextlib.suppress(TimeoutError):
                await producer.flush(settings.kafka.request_timeout_s)
        for out in results:
            if isinstance(out, handlers.Enqueue):
                await desk.enqueue(out.envelope, out.escalation)

    runner = ConsumerRunner(
        settings=settings.kafka,
        group_id=settings.consumer_group,
        topics=[handlers.CALL_EVENTS_TOPIC],
        handler=handle,
        dead_letters=producer,
    )

    async def take_over(event: ConsumedEvent) -> None:
        command = handlers.takeover_of(event.envelope, event.payload, now=datetime.now(UTC))
        if command is not None:
            await desk.take_over(event.envelope, command)

    # Supervisors' takeovers reach the desk on the control topic (docs/handoff.md 4.1).
    control_runner = ConsumerRunner(
        settings=settings.kafka,
        group_id=settings.control_consumer_group,
        topics=[handlers.CALL_CONTROL_TOPIC],
        handler=take_over,
        dead_letters=producer,
    )

    async def watch_lines() -> None:
        while True:
            await asyncio.sleep(settings.rules_reload_s)
            if await asyncio.to_thread(book.reload_if_changed):
                deps.lines = desk.lines = book.lines

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await producer.start()
        await desk.start()
        consuming = asyncio.create_task(runner.run(), name="session-consumer")
        controlling = asyncio.create_task(control_runner.run(), name="session-control-consumer")
        watching = asyncio.create_task(watch_lines(), name="line-watcher")
        try:
            yield
        finally:
            watching.cancel()
            runner.stop()
            control_runner.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(consuming, settings.kafka.record_timeout_s + 15)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(controlling, settings.kafka.record_timeout_s + 15)
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            await desk.aclose()
            await producer.close()
            await call_log.aclose()
            await redis.aclose()

    async def redis_answers() -> bool:
        return bool(await redis.ping())

    async def consumer_running() -> bool:
        return all(r.running and not r.stalled for r in (runner, control_runner))

    app = FastAPI(
        title="Switchboard session", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES
    )
    app.state.settings = settings
    app.state.redis = redis
    app.state.registry = registry
    app.state.line_book = book
    app.state.deps = deps
    app.state.runner = runner
    app.state.control_runner = control_runner
    app.state.desk = desk
    app.state.call_log = call_log
    app.state.models = models
    app.state.rate_limiter = KeyRateLimiter(
        settings.redis.url.get_secret_value(),
        settings.auth.rate_limit,
        service="session",
        key_prefix=settings.redis.key_prefix,
    )
    install_keyring(app, KeyRing.from_spec(settings.auth.key_hashes))
    install_body_limit(app, settings.http.max_body_bytes)
    app.include_router(health_router({"redis": redis_answers, "kafka": consumer_running}))
    app.include_router(http.router)
    app.include_router(backtest.router)
    app.include_router(desk_router(desk))
    return app
