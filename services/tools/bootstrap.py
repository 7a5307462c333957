"""Composition root of the tools service: settings in, a running app out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from services.tools.adapters.alembic_migrations import upgrade_to_head
from services.tools.adapters.celery_side_effects import CelerySideEffects, celery_client
from services.tools.adapters.httpx_connector import HttpConnector
from services.tools.adapters.postgres_crm import PostgresCrm
from services.tools.crm_tools import CrmTools
from services.tools.domain.registry import ToolRegistry
from services.tools.domain.stats import ToolStats
from services.tools.entrypoints import http
from services.tools.entrypoints.consumer import CommandConsumer
from services.tools.executor import ToolExecutor
from services.tools.handlers import handle_tool_execute
from services.tools.ports import SideEffects, ToolBackend
from services.tools.settings import ToolsSettings
from shared.auth import KeyRing
from shared.events.envelope import Envelope
from shared.http.app import ERROR_RESPONSES, health_router, install_keyring
from shared.http.body_limit import install_body_limit
from shared.http.ratelimit import KeyRateLimiter
from shared.kafka.consumer import ConsumedEvent
from shared.kafka.producer import BufferedProducer
from shared.lines import LineConfigError, load_lines, load_tool_specs

REQUESTS_TOPIC = "cc.tool-requests.v1"
RESULTS_TOPIC = "cc.tool-results.v1"
HTTP_CONNECTIONS = 100  # across every HTTP tool; at the bound requests wait (within deadline)


def build_executor(
    settings: ToolsSettings, crm: PostgresCrm, side_effects: SideEffects, client: httpx.AsyncClient
) -> ToolExecutor:
    """The registry from the config files, a backend per tool, and the executor over them."""
    specs = load_tool_specs(settings.lines_dir.parent / "tools")
    lines = load_lines(settings.lines_dir, specs)
    registry = ToolRegistry(specs, lines)
    crm_tools = CrmTools(crm, side_effects, lines)
    backends: dict[str, ToolBackend] = {"crm": crm_tools}
    for tool in registry.tools():
        if tool.spec.http is not None:
            backends[tool.backend_key] = HttpConnector(tool.spec.http, client)
        elif tool.name not in crm_tools.tools:
            raise LineConfigError(f"tool {tool.name!r} says backend: crm, which has no such tool")
    return ToolExecutor(
        registry=registry,
        backends=backends,
        settings=settings.execution,
        stats=ToolStats(window=settings.stats_window),
    )


def create_app(settings: ToolsSettings) -> FastAPI:
    """The tools app: tool-request consumer, operator API, health."""
    crm = PostgresCrm(
        settings.postgres, settings.db_schema, max_connections=settings.execution.crm_concurrency
    )
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=HTTP_CONNECTIONS), follow_redirects=False
    )
    executor = build_executor(
        settings, crm, CelerySideEffects(celery_client(settings), settings.mail.queue), client
    )
    producer = BufferedProducer(settings.kafka, client_id="tools")
    results_topic = settings.kafka.topic(RESULTS_TOPIC)

    async def publish(envelope: Envelope) -> None:
        key = envelope.call_id.encode()
        await producer.send_now(results_topic, key=key, value=envelope.to_json())

    async def handle(event: ConsumedEvent) -> None:
        replies = await handle_tool_execute(event.envelope, event.payload, executor=executor)
        # Acknowledged by the broker before the command counts as done (its offset may commit).
        await asyncio.gather(*(publish(r) for r in replies))

    longest = max((t.spec.timeout_seconds for t in executor.registry.tools()), default=10.0)
    consumer = CommandConsumer(
        settings=settings.kafka,
        group_id=settings.consumer_group,
        topic=REQUESTS_TOPIC,
        handle=handle,
        dead_letters=producer,
        max_in_flight=settings.execution.max_in_flight,
        drain_timeout_s=longest + settings.kafka.request_timeout_s * 2,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_to_head(settings.postgres, settings.db_schema)
        await crm.start()
        await producer.start()
        consuming = asyncio.create_task(consumer.run(), name="tools-consumer")
        try:
            yield
        finally:
            consumer.stop()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(consuming, longest + 15)
            await producer.close()
            await client.aclose()
            await crm.close()

    async def consumer_running() -> bool:
        return consumer.running

    app = FastAPI(
        title="Switchboard tools", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES
    )
    app.state.settings = settings
    app.state.executor = executor
    app.state.crm = crm
    app.state.consumer = consumer
    app.state.rate_limiter = KeyRateLimiter(
        settings.redis.url.get_secret_value(),
        settings.auth.rate_limit,
        service="tools",
        key_prefix=settings.redis.key_prefix,
    )
    install_keyring(app, KeyRing.from_spec(settings.auth.key_hashes))
    install_body_limit(app, settings.http.max_body_bytes)
    app.include_router(health_router({"postgres": crm.ping, "kafka": consumer_running}))
    app.include_router(http.router)
    return app
