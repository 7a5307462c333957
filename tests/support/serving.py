"""Running an ASGI app under uvicorn inside the test's event loop (a gateway whose dialogue
model a test swaps, a stand-in server), for as long as a block lasts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn

from tests.support.waiting import wait_until


@asynccontextmanager
async def serving(app: Any, port: int, **config: Any) -> AsyncIterator[uvicorn.Server]:
    """Serve ``app`` on 127.0.0.1:``port`` with its lifespan; stopped (30 s bound) on exit."""
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **config
        )
    )
    task = asyncio.create_task(server.serve(), name=f"test-server-{port}")
    try:
        assert await wait_until(lambda: server.started or task.done(), 20) and server.started
        yield server
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)
