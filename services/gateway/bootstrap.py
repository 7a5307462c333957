"""Composition root of the gateway: settings in, a running app out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, WebSocket
from redis.asyncio import Redis

from services.gateway import handlers
from services.gateway.adapters.kafka_control import KafkaControlConsumer
from services.gateway.adapters.kafka_events import KafkaEventPublisher
from services.gateway.adapters.kafka_tools import KafkaToolClient
from services.gateway.adapters.redis_sessions import (
    RedisBridgeTokens,
    RedisPhoneGrants,
    RedisSessionStore,
    RedisTokenStore,
)
from services.gateway.adapters.speech_loading import load_speech_models
from services.gateway.adapters.twilio_rest import TwilioRestClient
from services.gateway.dialogue.openai_chat import OpenAIChatProvider
from services.gateway.dialogue.service import DialogueService
from services.gateway.entrypoints import http, twilio_webhook
from services.gateway.entrypoints.bridge import serve_bridge_socket
from services.gateway.entrypoints.control import ControlRouter
from services.gateway.entrypoints.drain import drain
from services.gateway.entrypoints.twilio_media import serve_twilio_media
from services.gateway.entrypoints.ws import GatewayContext, serve_voice_socket
from services.gateway.pipeline.inference import InferencePool
from services.gateway.settings import GatewaySettings
from shared.auth import KeyRing
from shared.http.app import ERROR_RESPONSES, ReadinessCheck, health_router, install_keyring
from shared.http.body_limit import install_body_limit
from shared.http.ratelimit import KeyRateLimiter
from shared.kafka.producer import BufferedProducer
from shared.lines import load_lines

log = logging.getLogger(__name__)

VOICE_PATHS = ("/v1/ws", "/v1/voice", "/v1/realtime")


def create_app(settings: GatewaySettings) -> FastAPI:
    """The gateway app: voice-agent WebSocket, phone calls (Twilio), call control, the agents'
    bridge, health."""
    lines = load_lines(settings.lines_dir)
    if settings.default_line not in lines:
        raise ValueError(f"DEFAULT_LINE {settings.default_line!r} is not in {settings.lines_dir}")
    producer = BufferedProducer(settings.kafka, client_id=settings.gateway_id)
    keyring = KeyRing.from_spec(settings.auth.key_hashes)
    redis = Redis.from_url(
        settings.redis.url.get_secret_value(),
        socket_timeout=settings.redis.timeout_s,
        socket_connect_timeout=settings.redis.timeout_s,
    )
    tool_client = KafkaToolClient(
        producer=producer, settings=settings.kafka, gateway_id=settings.gateway_id
    )
    llm = (
        OpenAIChatProvider(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        )
        if settings.llm_base_url
        else None
    )
    twilio_token = settings.twilio_auth_token
    transfer = (
        TwilioRestClient(
            base_url=settings.twilio_api_url,
            auth_token=twilio_token.get_secret_value(),
            timeout_s=settings.twilio_transfer_timeout_s,
        )
        if twilio_token is not None and twilio_token.get_secret_value()
        else None
    )
    ctx = GatewayContext(
        settings=settings,
        keyring=keyring,
        lines=lines,
        events=KafkaEventPublisher(producer),
        sessions=RedisSessionStore(redis, prefix=settings.redis.key_prefix),
        tokens=RedisTokenStore(redis, prefix=settings.redis.key_prefix),
        phone_grants=RedisPhoneGrants(redis, prefix=settings.redis.key_prefix),
        transfer=transfer,
        dialogue=DialogueService(llm=llm, tool_client=tool_client),
        bridge_tokens=RedisBridgeTokens(redis, prefix=settings.redis.key_prefix),
    )
    control = KafkaControlConsumer(
        settings=settings.kafka,
        gateway_id=settings.gateway_id,
        dead_letters=producer,
        deliver=ControlRouter(ctx.calls).handle,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.voice in ("embedded", "noop"):
            # About 3 s and 500 MB once per process; sessions share the loaded models.
            ctx.speech = await asyncio.to_thread(load_speech_models, settings)
            ctx.pool = InferencePool(settings.inference_workers)
        await producer.start()
        await tool_client.start()
        await control.start()
        heartbeat = asyncio.create_task(
            handlers.keep_beating(
                ctx.sessions, gateway_id=settings.gateway_id, every_s=settings.heartbeat_s
            ),
            name="heartbeat",
        )
        stop_sweeping = asyncio.Event()
        sweeper = asyncio.create_task(
            handlers.keep_sweeping(
                ctx.sessions,
                ctx.publish,
                every_s=settings.sweep_s,
                window_s=settings.resume_window_s,
                stop=stop_sweeping,
            ),
            name="orphan-sweep",
        )
        # Not awaited: the gateway serves at once (flows answer while the model warms).
        warming = asyncio.create_task(
            ctx.dialogue.warm_up(lines[settings.default_line]), name="warm-model"
        )
        try:
            yield
        finally:
            # The drain (SIGTERM) settled the dropped calls; any still waiting (no drain ran, or
            # past its bound) end without their call.ended from this process.
            if ctx.pending_ends:
                log.warning(
                    "dropped calls unsettled at exit", extra={"calls": len(ctx.pending_ends)}
                )
            for task in list(ctx.pending_ends):
                task.cancel()
            warming.cancel()
            stop_sweeping.set()  # a pass under way publishes what it claimed, then it stops
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sweeper, handlers.STORE_TIMEOUT_S * 3)
            heartbeat.cancel()
            await control.close()
            await tool_client.close()
            await ctx.dialogue.aclose()
            if transfer is not None:
                await transfer.aclose()
            await producer.close(timeout_s=10)
            await redis.aclose()
            if ctx.pool is not None:
                ctx.pool.shutdown()

    app = FastAPI(
        title="Switchboard gateway", version="0.1.0", lifespan=lifespan, responses=ERROR_RESPONSES
    )
    app.state.settings = settings
    app.state.producer = producer
    app.state.context = ctx
    app.state.control = control
    app.state.rate_limiter = KeyRateLimiter(
        settings.redis.url.get_secret_value(),
        settings.auth.rate_limit,
        service="gateway",
        key_prefix=settings.redis.key_prefix,
    )
    install_keyring(app, keyring)
    install_body_limit(app, settings.http.max_body_bytes)

    async def redis_answers() -> bool:
        return bool(await redis.ping())

    checks: dict[str, ReadinessCheck] = {"kafka": producer.check_broker, "redis": redis_answers}
    app.include_router(health_router(checks, draining=lambda: ctx.draining))
    # Run by the server on SIGTERM before it closes any socket (shared/service_main.py).
    app.state.drain = lambda: drain(ctx)
    app.include_router(http.router)
    app.include_router(http.page_router)
    app.include_router(twilio_webhook.router)

    async def voice(websocket: WebSocket) -> None:
        await serve_voice_socket(websocket, ctx)

    for path in VOICE_PATHS:
        app.add_api_websocket_route(path, voice)

    async def bridge(websocket: WebSocket) -> None:
        await serve_bridge_socket(websocket, ctx)

    app.add_api_websocket_route("/v1/bridge", bridge)

    async def twilio_media(websocket: WebSocket) -> None:
        await serve_twilio_media(websocket, ctx)

    app.add_api_websocket_route("/twilio/media", twilio_media)
    return app
