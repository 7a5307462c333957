"""A bound on the generation requests the model server holds at once (ASGI middleware).

The model generates one answer at a time; llama_cpp.server queues the rest behind a lock with no
bound. This middleware admits at most ``limit`` generation requests (the running one and those
waiting); the next one gets 503 with ``Retry-After`` at once, before its body is read, so the
caller can fall back rather than wait behind a queue it cannot see.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

GENERATION_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})


class AdmissionLimit:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0  # one event loop: no lock needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in GENERATION_PATHS:
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await _busy(send)
            return
        self.active += 1
        try:  # held until the response (a whole SSE stream) is sent or the client is gone
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


async def _busy(send: Send) -> None:
    body = json.dumps(
        {
            "error": {
                "message": "the model server is busy; retry later",
                "type": "server_busy",
                "param": None,
                "code": "server_busy",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
