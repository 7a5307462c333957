"""The live dashboard's feed: ``WS /v1/live/ws`` and ``GET /v1/live/whoami`` (docs/dashboard.md).

The socket is accepted, then must authenticate with its first message within 5 s; a key
without the supervisor role is closed 1008 ``forbidden`` and is sent nothing live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, WebSocket
from prometheus_client import Gauge
from starlette.websockets import WebSocketDisconnect

from services.analytics.live_hub import ClientStuckError, LiveClient, LiveHub
from shared.auth import ROLES, KeyRing
from shared.http.app import require_role

log = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 5.0
# Largest client frame: the client only sends small commands; a larger frame is closed 1009.
MAX_CLIENT_FRAME = 4096
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013

DASHBOARD_CLIENTS = Gauge(
    "switchboard_dashboard_clients", "Live dashboard sockets this analytics process holds."
)

router = APIRouter(prefix="/v1/live", tags=["live"])


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Any configured key may ask (401 for none or an unknown one), within its rate limit.
AnyKey = Annotated[str, Depends(require_role(*ROLES))]


@router.get("/whoami")
async def whoami(request: Request, key: AnyKey) -> dict[str, Any]:
    """The roles of the Bearer key, and whether it gets the live view (401 for no such key)."""
    keyring: KeyRing = request.app.state.keyring
    roles = keyring.roles_of(key)
    live = getattr(request.app.state, "live_hub", None) is not None
    return {"roles": sorted(roles), "live": live and keyring.allows(key, "supervisor")}


@router.websocket("/ws")
async def live_ws(websocket: WebSocket) -> None:
    hub: LiveHub | None = getattr(websocket.app.state, "live_hub", None)
    await websocket.accept()
    if hub is None:
        await websocket.close(TRY_AGAIN_LATER, "live feed disabled")
        return
    if not hub.reserve():
        await websocket.close(TRY_AGAIN_LATER, "too many dashboard clients")
        return
    DASHBOARD_CLIENTS.inc()
    try:
        await _session(websocket, hub, websocket.app.state.keyring)
    except _Closed as closed:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(closed.code, closed.reason)
    except WebSocketDisconnect:
        pass
    except Exception:
        # A send to a client that just went away, most often: that client only.
        log.info("live client dropped", exc_info=True)
    finally:
        DASHBOARD_CLIENTS.dec()
        hub.release()


async def _session(websocket: WebSocket, hub: LiveHub, keyring: KeyRing) -> None:
    try:
        first = await asyncio.wait_for(_receive(websocket), AUTH_TIMEOUT_S)
    except TimeoutError:
        raise _Closed(POLICY_VIOLATION, "unauthorized") from None
    if first is None:
        return
    key = first.get("key") if first.get("type") == "auth" else None
    if not isinstance(key, str) or not keyring.roles_of(key):
        raise _Closed(POLICY_VIOLATION, "unauthorized")
    if not keyring.allows(key, "supervisor"):
        raise _Closed(POLICY_VIOLATION, "forbidden")
    client = hub.join(websocket.send_text)
    pump = asyncio.create_task(client.pump(), name="live-client-pump")
    reader = asyncio.create_task(_read(websocket, client), name="live-client-reader")
    try:
        done, _ = await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a stuck client or a closing code surfaces here
    except ClientStuckError:
        log.warning("live client stuck; closed")
        raise _Closed(TRY_AGAIN_LATER, "too slow") from None
    finally:
        hub.leave(client)
        for task in (pump, reader):
            task.cancel()
        await asyncio.gather(pump, reader, return_exceptions=True)


async def _read(websocket: WebSocket, client: LiveClient) -> None:
    """Apply the client's commands until it disconnects."""
    while (message := await _receive(websocket)) is not None:
        kind = message.get("type")
        if kind == "watch" and isinstance(message.get("call_id"), str):
            client.watch(message["call_id"][:200])
        elif kind == "unwatch":
            client.watch(None)
        else:
            client.offer(json.dumps({"type": "error", "detail": "unknown or malformed message"}))


async def _receive(websocket: WebSocket) -> dict[str, Any] | None:
    """The next client message as a JSON object; None when the client left."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    raw = message.get("text")
    size = len(raw.encode()) if raw is not None else len(message.get("bytes") or b"")
    if size > MAX_CLIENT_FRAME:
        raise _Closed(MESSAGE_TOO_BIG, "message too big")
    try:
        parsed = json.loads(raw if raw is not None else message.get("bytes") or b"")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
