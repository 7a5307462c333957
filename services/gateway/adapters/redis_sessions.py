"""Session checkpoints, temporary tokens, phone-call grants and bridge tokens in Redis.

Keys: ``<prefix>session:<session_id>`` (JSON checkpoint, TTL), ``<prefix>checkpoints`` (sorted
set: session id -> when it was last written or looked at; the orphan sweep's index),
``<prefix>gateway:<gateway_id>`` (a gateway's heartbeat, TTL), ``<prefix>token:<sha256>`` and
``<prefix>twilio:<sha256>`` (JSON grant, TTL; only the token's hash is stored). Claim, release
and adopt are Lua scripts, so two gateways racing for one dropped or orphaned session cannot
both win. One ``RedisSessionStore`` per gateway process: its ``instance`` (random) marks the
checkpoints it writes and is its heartbeat's value.
"""

from __future__ import annotations

import hashlib
import json
import time
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
cp['saved_at'] = tonumber(ARGV[5])
local out = cjson.encode(cp)
redis.call('SET', KEYS[1], out, 'EX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
return out
"""
# Deletes a checkpoint only if it is still dropped; returns it.
_RELEASE = """
local raw = redis.call('GET', KEYS[1])
if not raw then return nil end
if cjson.decode(raw)['state'] ~= 'dropped' then return nil end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return raw
"""
# The orphan sweep's step for one checkpoint (KEYS: checkpoint, its writer's heartbeat, index;
# ARGV: the gateway id read before, this process's instance, now, window, TTL, session id).
# Its writer alive (or unknown, or this process): looked at again a window later. Orphaned and
# live: marked dropped now (the caller gets a whole window to resume). Orphaned and dropped for
# a whole window: deleted and returned, for the caller of this script to end the call.
_ADOPT = """
local raw = redis.call('GET', KEYS[1])
if not raw then redis.call('ZREM', KEYS[3], ARGV[6]) return 'gone' end
local cp = cjson.decode(raw)
local now = tonumber(ARGV[3])
if cp['gateway_id'] ~= ARGV[1] then return 'moved' end
local writer = cp['instance']
if type(writer) ~= 'string' or writer == ARGV[2] or redis.call('GET', KEYS[2]) == writer then
  redis.call('ZADD', KEYS[3], now, ARGV[6])
  return 'alive'
end
if cp['state'] == 'live' then
  cp['state'] = 'dropped'
  cp['saved_at'] = now
  redis.call('SET', KEYS[1], cjson.encode(cp), 'EX', ARGV[5])
  redis.call('ZADD', KEYS[3], now, ARGV[6])
  return 'orphaned'
end
local saved = tonumber(cp['saved_at']) or 0
if now - saved < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[3], saved, ARGV[6])
  return 'waiting'
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[6])
return raw
"""
ADOPT_OUTCOMES = ("gone", "moved", "alive", "orphaned", "waiting")


class RedisSessionStore:
    def __init__(self, redis: Redis, *, prefix: str = "", instance: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self.instance = instance or uuid.uuid4().hex
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._adopt = redis.register_script(_ADOPT)
        self._index = f"{prefix}checkpoints"

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    async def save(self, checkpoint: Checkpoint, ttl_s: int) -> None:
        now = time.time()
        body = {**checkpoint.model_dump(mode="json"), "instance": self.instance, "saved_at": now}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(checkpoint.session_id), json.dumps(body), ex=max(1, ttl_s))
            pipe.zadd(self._index, {checkpoint.session_id: now})
            await pipe.execute()

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
            keys=[self._key(session_id), self._beat_key(current.gateway_id), self._index],
            args=[
                gateway_id,
                current.max_session_s,
                current.gateway_id,
                self.instance,
                time.time(),
                session_id,
            ],
        )
        return Checkpoint.model_validate_json(cast(Any, raw)) if raw else None

    async def release(self, session_id: str) -> Checkpoint | None:
        raw = await self._release(keys=[self._key(session_id), self._index], args=[session_id])
        return Checkpoint.model_validate_json(cast(Any, raw)) if raw else None

    async def delete(self, session_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(session_id))
            pipe.zrem(self._index, session_id)
            await pipe.execute()

    async def due(self, window_s: float, limit: int, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        found = await self._redis.zrangebyscore(
            self._index, "-inf", now - window_s, start=0, num=limit
        )
        return [m.decode() if isinstance(m, bytes) else str(m) for m in found]

    async def adopt(
        self, session_id: str, *, window_s: float, ttl_s: int, now: float | None = None
    ) -> tuple[str, Checkpoint | None]:
        current = await self.load(session_id)
        gateway_id = current.gateway_id if current is not None else ""
        out = await self._adopt(
            keys=[self._key(session_id), self._beat_key(gateway_id), self._index],
            args=[
                gateway_id,
                self.instance,
                time.time() if now is None else now,
                window_s,
                max(1, ttl_s),
                session_id,
            ],
        )
        text = out.decode() if isinstance(out, bytes) else str(out)
        if text in ADOPT_OUTCOMES:
            return text, None
        return "ended", Checkpoint.model_validate_json(text)


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
