"""The gateway's HTTP face: temporary tokens for browsers (``GET /v1/token``)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.gateway.domain.checkpoint import TokenGrant
from services.gateway.ports import TokenStore
from shared.auth import hash_key
from shared.http.app import require_role

router = APIRouter(prefix="/v1", tags=["auth"])
page_router = APIRouter(tags=["softphone"])
SOFTPHONE = Path(__file__).with_name("static") / "softphone.html"


@page_router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def softphone() -> HTMLResponse:
    """The browser softphone. It holds no secret: the user pastes a key to get a token."""
    return HTMLResponse(SOFTPHONE.read_text(), headers={"Cache-Control": "no-store"})


GatewayKey = Annotated[str, Depends(require_role("gateway"))]


def token_store_of(request: Request) -> TokenStore:
    store: TokenStore = request.app.state.context.tokens
    return store


@router.get("/token")
async def issue_token(
    key: GatewayKey,
    tokens: Annotated[TokenStore, Depends(token_store_of)],
    expires_in_seconds: Annotated[int, Query(ge=1, le=600)] = 60,
    max_session_duration_seconds: Annotated[int | None, Query(ge=60, le=10_800)] = None,
) -> dict[str, object]:
    """A single-use token for ``?token=`` on the voice WebSocket (one token, one session).

    The session it opens belongs to the key that asked for it, so that key may resume it.
    """
    token = secrets.token_urlsafe(32)
    grant = TokenGrant(owner=hash_key(key), max_session_s=max_session_duration_seconds or 10_800)
    await tokens.issue(token, grant, expires_in_seconds)
    return {"token": token, "expires_in_seconds": expires_in_seconds}
