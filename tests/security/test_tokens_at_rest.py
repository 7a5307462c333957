"""Single-use grants on a real Redis: the gateway's temporary tokens, Twilio's per-call secrets
and the agents' bridge tokens are each redeemable once, expire, and are stored only as hashes."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from services.gateway.adapters.redis_sessions import (
    RedisBridgeTokens,
    RedisPhoneGrants,
    RedisTokenStore,
)
from services.gateway.domain.checkpoint import TokenGrant
from services.gateway.domain.twilio import PhoneCallGrant
from shared.bridge_tokens import BridgeGrant, issue_bridge_token

Issue = Callable[[int], Awaitable[str]]  # issue a grant with this TTL; answers its secret
Redeem = Callable[[str], Awaitable[object]]


@pytest.fixture
async def redis(infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


def _stores(redis: Redis, prefix: str) -> dict[str, tuple[Issue, Redeem]]:
    tokens = RedisTokenStore(redis, prefix=prefix)
    phones = RedisPhoneGrants(redis, prefix=prefix)
    bridges = RedisBridgeTokens(redis, prefix=prefix)

    async def issue_token(ttl_s: int) -> str:
        token = secrets.token_urlsafe(32)
        await tokens.issue(token, TokenGrant(owner="sha256:o", max_session_s=60), ttl_s)
        return token

    async def issue_phone(ttl_s: int) -> str:
        secret = secrets.token_urlsafe(32)
        grant = PhoneCallGrant(call_sid="CA1", account_sid="AC1", line_id="demo-retail")
        await phones.issue(secret, grant, ttl_s)
        return secret

    async def issue_bridge(ttl_s: int) -> str:
        grant = BridgeGrant(call_id="call_1", agent_id="agent-1")
        return await issue_bridge_token(redis, grant, prefix=prefix, ttl_s=ttl_s)

    return {
        "token": (issue_token, tokens.redeem),
        "twilio": (issue_phone, phones.redeem),
        "bridge": (issue_bridge, bridges.redeem),
    }


@pytest.mark.parametrize("kind", ["token", "twilio", "bridge"])
async def test_a_grant_is_single_use_expires_and_is_stored_hashed(
    redis: Redis, unique: str, kind: str
) -> None:
    prefix = f"t{unique}:"
    issue, redeem = _stores(redis, prefix)[kind]

    used = await issue(60)
    stored = [k async for k in redis.scan_iter(match=f"{prefix}*")]
    assert stored == [f"{prefix}{kind}:{hashlib.sha256(used.encode()).hexdigest()}".encode()]
    assert 0 < await redis.ttl(stored[0]) <= 60
    assert used.encode() not in (await redis.get(stored[0]) or b"")

    assert await redeem(used) is not None
    assert await redeem(used) is None  # single use: a replay finds nothing

    expiring = await issue(1)
    await asyncio.sleep(1.2)
    assert await redeem(expiring) is None
    assert await redeem(secrets.token_urlsafe(32)) is None
