"""Every service's app, built as in production with a key for each role (lifespans not run)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.analytics.bootstrap import create_app as create_analytics
from services.analytics.settings import AnalyticsSettings
from services.gateway.bootstrap import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.session.bootstrap import create_app as create_session
from services.session.settings import SessionSettings
from services.tools.bootstrap import create_app as create_tools
from services.tools.settings import ToolsSettings
from shared.auth import ROLES, KeyRing, Role
from shared.settings import AuthSettings, RedisSettings


@dataclass(frozen=True)
class Services:
    apps: dict[str, FastAPI]
    keys: dict[Role, str]
    keyring: KeyRing

    def client(self, service: str) -> TestClient:
        return TestClient(self.apps[service])


@pytest.fixture(scope="package")
def services(infra, keys) -> Iterator[Services]:
    auth = AuthSettings(AUTH_KEY_HASHES=keys.hashes)
    redis = RedisSettings(REDIS_URL=infra.redis_url, REDIS_KEY_PREFIX="t-security:")
    common: dict[str, Any] = {"auth": auth, "redis": redis}
    apps = {
        "gateway": create_gateway(GatewaySettings(GATEWAY_VOICE="off", **common)),
        "session": create_session(SessionSettings(**common)),
        "tools": create_tools(ToolsSettings(**common)),
        "analytics": create_analytics(AnalyticsSettings(**common)),
    }
    role_keys: dict[Role, str] = {role: getattr(keys, role) for role in ROLES}
    yield Services(apps, role_keys, KeyRing.from_spec(keys.hashes))
