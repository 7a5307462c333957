"""Session checkpoints, temporary tokens, phone-call grants and bridge tokens in Redis.

Keys: ``<prefix>session:<session_id>`` (JSON checkpoint, TTL), ``<prefix>gateway:<gateway_id>``
(a gateway's heartbeat, TTL), ``<prefix>token:<sha256>`` and ``<prefix>twilio:<sha256>`` (JSON
grant, TTL; only the token's hash is stored). Claim and release are Lua scripts, so two
gateways racing for one dropped session cannot both win. One ``RedisSessionStore`` per gateway
process: its ``instance`` (random) marks the checkpoints it writes and is its heartbeat's value.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel
from redis.asyncio import Redis

from services.gateway.domain.checkpoint import Checkpoint, TokenGrant
from services.gateway.domain.twilio import PhoneCallGrant
from shared.bridge_tokens import BridgeGrant, redeem_bridge_token

# Turns a dropped checkpoint live (persisting it) and returns it; nil when it is not dropped.
# A live one is claimed too when the process that wrote it is gone: it carries that process's
# ``instance``, and its gateway's heartbeat (KEYS[2]) is missing (SIGKILL, a crash, a lost
# machine) or holds another instance (the gateway restarted under the same id). Checkpoints
# without an instance (written before heartbeats) are never taken while live.
_CLAIM = """
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
local cp = cjson.decode(raw)
if cp['state'] ~= 'dropped' then
  if cp['state'] ~= 'live' or cp['gateway_id'] ~= ARGV[3] then return nil end
  if type(cp['instance']) ~= 'string' or cp['instance'] == ARGV[4] then return nil end
  if redis.call('GET', KEYS[2]) == cp['instance'] then return nil end
end
cp['state'] = 'live'
cp['gateway_id'] = ARGV[1]
cp['instance'] = ARGV[4]
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
    def __init__(self, redis: Redis, *, prefix: str = "", instance: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self.instance = instance or uuid.uuid4().hex
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    async def save(self, checkpoint: Checkpoint, ttl_s: int) -> None:
        body = {**checkpoint.model_dump(mode="json"), "instance": self.instance}
        await self._redis.set(self._key(checkpoint.session_id), json.dumps(body), ex=max(1, ttl_s))

    async def load(self, session_id: str) -> Checkpoint | None:
        raw = await self._redis.get(self._key(session_id))
        return Checkpoint.model_validate_json(raw) if raw else None

    def _beat_key(self, gateway_id: str) -> str:
        return f"{self._prefix}gateway:{gateway_id}"

    async def beat(self, gateway_id: str, ttl_s: int) -> None:
        await self._redis.set(self._beat_key(gateway_id), self.instance, ex=max(1, ttl_s))

    async def claim(self, session_id: str, gateway_id: str) -> Checkpoint | None:
        current = await self.load(session_id)
        if current is None:
            return None
        raw = await self._claim(
            keys=[self._key(session_id), self._beat_key(current.gateway_id)],
            args=[gateway_id, current.max_session_s, current.gateway_id, self.instance],
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
