"""The live session registry in Redis.

Keys: ``<prefix>live:<call_id>`` (the entry as JSON, with a TTL: ``ENDED_TTL_S`` once the call
ended or dropped, else ``LIVE_TTL_S``) and ``<prefix>live-index`` (a sorted set of call ids by
start time, so listing needs no ``SCAN``). Index members whose entry expired are removed when
a listing finds them gone, and every write drops those that started longer ago than an entry
can live (``LIVE_TTL_S``), so the index stays bounded by the calls of the last few hours.
The gateways' own resume checkpoints live beside these, under
``<prefix>session:<call_id>`` (written by the gateway); the registry reads a few safe fields of
them (never the conversation) for ``GET /v1/sessions/{id}``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from services.session.domain.registry import LIVE_TTL_S, LiveSession

# Fields of a gateway checkpoint that may be shown: never its conversation context.
CHECKPOINT_FIELDS = ("state", "gateway_id", "turns", "audio_seconds", "started_at")


class RedisSessionRegistry:
    def __init__(self, redis: Redis, *, prefix: str = "") -> None:
        self._redis = redis
        self._prefix = prefix
        self._index = f"{prefix}live-index"

    def _key(self, call_id: str) -> str:
        return f"{self._prefix}live:{call_id}"

    async def get(self, call_id: str) -> LiveSession | None:
        raw = await self._redis.get(self._key(call_id))
        return LiveSession.from_json(json.loads(raw)) if raw else None

    async def put(self, session: LiveSession) -> None:
        started = _epoch(session.started_at)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(session.call_id), json.dumps(session.to_json()), ex=session.ttl_s)
            pipe.zadd(self._index, {session.call_id: started})
            # Bound the index: a call that started longer ago than an entry can live is gone.
            pipe.zremrangebyscore(self._index, "-inf", time.time() - LIVE_TTL_S)
            await pipe.execute()

    async def list(self, *, limit: int) -> list[LiveSession]:
        """The newest ``limit`` entries still present (live, or ended within the TTL)."""
        members: list[Any] = await self._redis.zrevrange(self._index, 0, limit - 1)
        ids = [m.decode() if isinstance(m, bytes) else str(m) for m in members]
        if not ids:
            return []
        raws = await self._redis.mget([self._key(i) for i in ids])
        gone = [i for i, raw in zip(ids, raws, strict=True) if raw is None]
        if gone:
            await self._redis.zrem(self._index, *gone)
        return [LiveSession.from_json(json.loads(raw)) for raw in raws if raw is not None]

    async def checkpoint(self, call_id: str) -> dict[str, Any] | None:
        """The safe fields of the gateway's resume checkpoint for the call, if it has one."""
        raw = await self._redis.get(f"{self._prefix}session:{call_id}")
        if not raw:
            return None
        data = json.loads(raw)
        return {k: data[k] for k in CHECKPOINT_FIELDS if k in data}


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0
