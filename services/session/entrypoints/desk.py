"""The agent desk: its page (``GET /desk``) and its WebSocket (``/v1/desk/ws``).

Browsers cannot set headers on a WebSocket, so the desk key comes in the first message,
``{"type": "auth", "key"}``, within ``AUTH_TIMEOUT_S`` (else close 1008). The page keeps the key
in sessionStorage; it never travels in a URL. docs/handoff.md section 4 has the messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse

from services.session.desk_connection import DeskConnection
from services.session.domain.agents import AgentConfig
from services.session.handoff_desk import HandoffDesk

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
PAGES = {
    "desk.js": "text/javascript",
    "desk.css": "text/css",
}
# The first message must arrive this soon; a socket that says nothing is closed (1008).
AUTH_TIMEOUT_S = 5.0
# A desk message is a few fields; anything larger is refused (1009) before parsing.
MAX_MESSAGE_CHARS = 4_096
NO_STORE = {"Cache-Control": "no-store"}


def desk_router(desk: HandoffDesk) -> APIRouter:
    router = APIRouter(tags=["desk"])

    @router.get("/desk", include_in_schema=False)
    async def desk_page() -> FileResponse:
        return FileResponse(STATIC / "desk.html", media_type="text/html", headers=NO_STORE)

    @router.get("/desk/{name}", include_in_schema=False)
    async def desk_asset(name: str) -> FileResponse:
        media_type = PAGES.get(name)
        if media_type is None:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / name, media_type=media_type, headers=NO_STORE)

    @router.websocket("/v1/desk/ws")
    async def desk_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        agent = await _authenticate(websocket, desk)
        if agent is None:
            return
        connection = await desk.connect(agent)
        if connection is None:
            await websocket.close(1013, "desk_full")
            return
        log.info("desk signed in", extra={"agent_id": agent.agent_id})
        reader = asyncio.create_task(_read(websocket, desk, connection), name="desk-reader")
        writer = asyncio.create_task(_write(websocket, connection), name="desk-writer")
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            await desk.disconnect(connection)
            with contextlib.suppress(Exception):
                await websocket.close(connection.close_code, connection.close_reason)
            log.info("desk signed out", extra={"agent_id": agent.agent_id})

    return router


async def _authenticate(websocket: WebSocket, desk: HandoffDesk) -> AgentConfig | None:
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):
            raw = await websocket.receive_text()
    except (TimeoutError, WebSocketDisconnect, KeyError, RuntimeError):
        await _close_quietly(websocket, 1008, "unauthorized")
        return None
    message = _parse(raw)
    agent = None
    if message is not None and message.get("type") == "auth":
        agent = desk.agents.by_key(message.get("key"))
    if agent is None:
        log.warning("desk sign-in refused")
        await _close_quietly(websocket, 1008, "unauthorized")
    return agent


async def _read(websocket: WebSocket, desk: HandoffDesk, connection: DeskConnection) -> None:
    while not connection.closing:
        try:
            raw = await websocket.receive_text()
        except (WebSocketDisconnect, KeyError, RuntimeError):
            return  # gone, or it sent a binary frame (KeyError): either way the desk is done
        if len(raw) > MAX_MESSAGE_CHARS:
            connection.close(1009, "message_too_big")
            return
        message = _parse(raw)
        if message is None:
            connection.send({"type": "error", "code": "bad_json", "message": "Not JSON."})
            continue
        await desk.handle(connection, message)


async def _write(websocket: WebSocket, connection: DeskConnection) -> None:
    while True:
        message = await connection.outbox.get()
        if message is None:
            return
        await websocket.send_text(json.dumps(message))


def _parse(raw: str) -> dict[str, Any] | None:
    if len(raw) > MAX_MESSAGE_CHARS:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code, reason)
