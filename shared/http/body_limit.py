"""A bound on every HTTP request body, checked before any endpoint (or key check) reads it.

FastAPI reads a request's body before it solves the endpoint's dependencies, the key check among
them; without a bound, anyone who can reach a port could make a service buffer any amount of
memory. A declared ``Content-Length`` over the bound is refused at once (413); a body streamed
without one is counted as it arrives and refused (413) as soon as it passes the bound, the rest
unread. WebSocket frames are bounded by each socket's own limits, not here.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Default bound: the largest legitimate body (a rules backtest, a 20,000-character redaction)
# is a few tens of KiB.
DEFAULT_MAX_BODY_BYTES = 1_048_576
TOO_LARGE = "request body too large"


class BodyLimit:
    """ASGI middleware: at most ``max_bytes`` of body per HTTP request."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": TOO_LARGE}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI re-raises an HTTPException met while reading the body; the app's
                    # exception handler turns it into the 413 answer.
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counted, send)


def install_body_limit(app: FastAPI, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    """Bound every HTTP request body of ``app`` to ``max_bytes`` (beyond: 413)."""
    app.add_middleware(BodyLimit, max_bytes=max_bytes)
