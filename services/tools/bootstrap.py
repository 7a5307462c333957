"""Composition root of the tools service.

Today it holds the database connection the CRM backend will use and answers health checks; the
tool-request consumer, registry and CRM arrive with the tools-service issue.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import sqlalchemy as sa
from fastapi import FastAPI

from services.tools.settings import ToolsSettings
from shared.auth import KeyRing
from shared.db import create_engine
from shared.http.app import health_router, install_keyring


def create_app(settings: ToolsSettings) -> FastAPI:
    engine = create_engine(settings.postgres)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await engine.dispose()

    async def postgres_answers() -> bool:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return True

    app = FastAPI(title="Switchboard tools", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_keyring(app, KeyRing.from_spec(settings.auth.key_hashes))
    app.include_router(health_router({"postgres": postgres_answers}))
    return app
