"""Every service limits requests per key (``AUTH_RATE_LIMIT``, kept in the real Redis): past the
window a key gets 429 with ``Retry-After``, while another key is still served."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.analytics.bootstrap import create_app as create_analytics
from services.analytics.settings import AnalyticsSettings
from services.gateway.bootstrap import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.session.bootstrap import create_app as create_session
from services.session.settings import SessionSettings
from services.tools.bootstrap import create_app as create_tools
from services.tools.settings import ToolsSettings
from shared.settings import AuthSettings, RedisSettings

# A route of each service that answers without its lifespan, the role it needs and another
# role that also may call it.
CASES = {
    "gateway": ("/v1/token", "gateway", "admin"),
    "session": ("/v1/rules", "supervisor", "admin"),
    "tools": ("/v1/tools/stats", "admin", "admin"),
    "analytics": ("/v1/live/whoami", "analyst", "supervisor"),
}


def _app(service: str, common: dict[str, Any]) -> FastAPI:
    if service == "gateway":
        return create_gateway(GatewaySettings(GATEWAY_VOICE="off", **common))
    if service == "session":
        return create_session(SessionSettings(**common))
    if service == "tools":
        return create_tools(ToolsSettings(**common))
    return create_analytics(AnalyticsSettings(**common))


@pytest.mark.parametrize("service", sorted(CASES))
async def test_a_key_past_its_window_gets_429_and_another_key_does_not(
    infra, keys, unique: str, service: str
) -> None:
    path, role, other_role = CASES[service]
    common: dict[str, Any] = {
        "auth": AuthSettings(AUTH_KEY_HASHES=keys.hashes, AUTH_RATE_LIMIT="2/minute"),
        "redis": RedisSettings(REDIS_URL=infra.redis_url, REDIS_KEY_PREFIX=f"t{unique}:"),
    }
    # One event loop for every request (the limiter's Redis pool lives in it); no lifespan.
    transport = httpx.ASGITransport(app=_app(service, common))
    async with httpx.AsyncClient(transport=transport, base_url="http://sec") as client:
        key = {"Authorization": f"Bearer {getattr(keys, role)}"}

        answers = [await client.get(path, headers=key) for _ in range(3)]

        assert [a.status_code for a in answers] == [200, 200, 429]
        assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
        if other_role != role:
            other = {"Authorization": f"Bearer {getattr(keys, other_role)}"}
            assert (await client.get(path, headers=other)).status_code == 200
