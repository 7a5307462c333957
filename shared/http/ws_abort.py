"""Dropping a WebSocket at once, whatever the peer reads: uvicorn's protocol with an abort.

A graceful close (a close frame, then the transport's close) waits for the peer to take what is
buffered for it: a client that stops reading holds it forever. ``AbortableWebSockets`` (the
``ws`` protocol of ``shared.service_main``) adds an ASGI scope extension, ``ABORT``: a callable
that aborts the TCP connection, buffers discarded. ``abort(scope)`` calls it when offered.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

ABORT = "switchboard.transport.abort"


class AbortableWebSockets(WebSocketsSansIOProtocol):
    """uvicorn's default WebSocket protocol, offering the app ``scope["extensions"][ABORT]``."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the upgrade was refused
        if scope is not None:
            scope.setdefault("extensions", {})[ABORT] = self.transport.abort


def abort(scope: MutableMapping[str, Any]) -> bool:
    """Abort the connection of ``scope`` now; False when its server offers no abort."""
    drop: Callable[[], None] | None = (scope.get("extensions") or {}).get(ABORT)
    if drop is None:
        return False
    drop()
    return True
