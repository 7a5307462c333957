"""Composition root of the session service.

Today it holds the Redis connection the session registry will use and answers health checks;
the registry, escalation rules and agent desk arrive with the session-service issue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from redis.asyncio import Redis

from services.session.settings import SessionSettings
from shared.auth import KeyRing
from shared.http.app import health_router, install_keyring


def create_app(settings: SessionSettings) -> FastAPI:
    redis = Redis.from_url(
        settings.redis.url.get_secret_value(),
        socket_timeout=settings.redis.timeout_s,
        socket_connect_timeout=settings.redis.timeout_s,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()

    async def redis_answers() -> bool:
        return bool(await redis.ping())

    app = FastAPI(title="Switchboard session", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.redis = redis
    install_keyring(app, KeyRing.from_spec(settings.auth.key_hashes))
    app.include_router(health_router({"redis": redis_answers}))
    return app
