"""What every service's HTTP face shares: health, readiness, metrics and key checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shared.auth import KeyRing, Role, bearer_token
from shared.http.ratelimit import KeyRateLimiter

# A readiness check answers True when its dependency answers; each is bounded by this timeout.
ReadinessCheck = Callable[[], Awaitable[bool]]
CHECK_TIMEOUT_S = 2.0


class ErrorBody(BaseModel):
    """An error answer: a message, or FastAPI's list of request validation errors."""

    detail: str | list[dict[str, Any]]


# Answers any operation may give besides its own, in every service's OpenAPI spec (FastAPI's
# default 422 documents only the validation-error list; handlers also answer 422 with a message).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No API key, or an unknown one."),
        (403, "The key's role may not do this."),
        (404, "No such resource."),
        (422, "The request is not valid."),
        (429, "The key's rate limit is exceeded."),
    )
}


def health_router(
    checks: dict[str, ReadinessCheck], draining: Callable[[], bool] | None = None
) -> APIRouter:
    """``/healthz`` (the process is alive), ``/readyz`` (its dependencies answer), ``/metrics``.

    ``draining`` says the service is shutting down: ``/readyz`` then answers 503 ``draining``
    whatever its dependencies say, so a load balancer routes new work elsewhere.
    """
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # The spec says what these answer (a schema fuzzer checks responses against it): 503 is
    # readiness' "not yet", and metrics are Prometheus text, not JSON.
    @router.get(
        "/readyz",
        responses={503: {"description": "A dependency does not answer, or the service drains."}},
    )
    async def readyz() -> JSONResponse:
        if draining is not None and draining():
            return JSONResponse({"status": "draining", "checks": {}}, status_code=503)
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
            except Exception:
                results[name] = False
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def keyring_of(request: Request) -> KeyRing:
    keyring: KeyRing = request.app.state.keyring
    return keyring


def require_role(*roles: Role) -> Callable[..., Awaitable[str]]:
    """A dependency that admits a request whose Bearer key holds one of ``roles`` (or a role that
    implies one), within the key's rate limit when the app has one (429 beyond it)."""

    async def dependency(
        request: Request,
        keyring: Annotated[KeyRing, Depends(keyring_of)],
        authorization: Annotated[str | None, Header()] = None,
    ) -> str:
        key = bearer_token(authorization)
        if key is None:
            raise HTTPException(401, "missing API key", headers={"WWW-Authenticate": "Bearer"})
        if not keyring.roles_of(key):
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
        if not keyring.allows(key, *roles):
            raise HTTPException(403, "this key may not do that")
        limiter: KeyRateLimiter | None = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None:
            verdict = await limiter.hit(key)
            if not verdict.allowed:
                raise HTTPException(
                    429,
                    "rate limit exceeded for this key",
                    headers={"Retry-After": str(verdict.retry_after_s)},
                )
        return key

    return dependency


def install_keyring(app: FastAPI, keyring: KeyRing) -> None:
    app.state.keyring = keyring
