"""Session checkpoints, temporary tokens, phone-call grants and bridge tokens in Redis.

Keys: ``<prefix>session:<session_id>`` (JSON checkpoint, TTL), ``<prefix>token:<sha256>`` and
``<prefix>twilio:<sha256>`` (JSON grant, TTL; only the token's hash is stored). Claim and
release are Lua scripts, so two gateways racing for one dropped session cannot both win.
"""

from __future__ import annotations

import hashlib
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel
from redis.asyncio import Redis

from services.gateway.domain.checkpoint import Checkpoint, TokenGrant
from services.gateway.domain.twilio import PhoneCallGrant
from shared.bridge_tokens import BridgeGrant, redeem_bridge_token

# Turns a dropped checkpoint live (persisting it) and returns it; nil when it is not dropped.
_CLAIM = """
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local cp = cjson.decode(raw)
if cp['state'] ~= 'dropped' then return nil end
cp['state'] = 'live'
cp['gateway_id'] = ARGV[1]
local out = cjson.encode(cp)
redis.call('SET', KEYS[1], out, 'EX', ARGV[2])
return out
"""
# Deletes a checkpoint only if it is still dropped; returns it.
_RELEASE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
if cjson.decode(raw)['state'] ~= 'dropped' then return nil end
redis.call('DEL', KEYS[1])
return raw
"""


class RedisSessionStore:
    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    async def save(self, checkpoint: Checkpoint, ttl_s: int) -> None:
        await self._redis.set(
            self._key(checkpoint.session_id), checkpoint.model_dump_json(), ex=max(1, ttl_s)
        )

    async def load(self, session_id: str) -> Checkpoint | None:
        raw = await self._redis.get(self._key(session_id))
        return Checkpoint.model_validate_json(raw) if raw else None

    async def claim(self, session_id: str, gateway_id: str) -> Checkpoint | None:
        current = await self.load(session_id)
        if current is None:
            return None
        raw = await self._claim(
            keys=[self._key(session_id)], args=[gateway_id, current.max_session_s]
        )
        return Checkpoint.model_validate_json(cast(Any, raw)) if raw else None

    async def release(self, session_id: str) -> Checkpoint | None:
        raw = await self._release(keys=[self._key(session_id)])
        return Checkpoint.model_validate_json(cast(Any, raw)) if raw else None

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(self._key(session_id))


GrantT = TypeVar("GrantT", bound=BaseModel)


class _SingleUseGrants(Generic[GrantT]):
    """Grants behind random secrets: stored by the secret's hash, removed when redeemed."""

    kind = ""
    model: type[GrantT]

    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, token: str) -> str:
        return f"{self._prefix}{self.kind}:{hashlib.sha256(token.encode()).hexdigest()}"

    async def issue(self, token: str, grant: GrantT, ttl_s: int) -> None:
        await self._redis.set(self._key(token), grant.model_dump_json(), ex=ttl_s)

    async def redeem(self, token: str) -> GrantT | None:
        raw = await self._redis.getdel(self._key(token))
        return self.model.model_validate_json(raw) if raw else None


class RedisTokenStore(_SingleUseGrants[TokenGrant]):
    kind, model = "token", TokenGrant


class RedisPhoneGrants(_SingleUseGrants[PhoneCallGrant]):
    """The per-call secret of ``/twilio/voice``'s TwiML, redeemed by the media stream."""

    kind, model = "twilio", PhoneCallGrant


class RedisBridgeTokens:
    """Bridge tokens the session service issued (``shared.bridge_tokens``), redeemed once."""

    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix

    async def redeem(self, token: str) -> BridgeGrant | None:
        return await redeem_bridge_token(self._redis, token, prefix=self._prefix)
