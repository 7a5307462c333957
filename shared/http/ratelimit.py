"""Per-key request rate limits, shared by every replica through Redis (the ``limits`` library).

A key is identified in Redis by a prefix of its SHA-256, never by the key itself. When Redis is
unreachable the limiter lets requests through (and counts it): an outage of the limiter must not
become an outage of the API; the key checks still apply.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

log = logging.getLogger(__name__)

RATE_LIMITED = Counter(
    "switchboard_rate_limited_total", "Requests refused by a per-key rate limit", ["service"]
)
RATE_LIMIT_UNCHECKED = Counter(
    "switchboard_rate_limit_unchecked_total",
    "Requests let through because the rate-limit store was unreachable",
    ["service"],
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0


class KeyRateLimiter:
    """A moving-window limit per API key (e.g. ``"600/minute"``)."""

    def __init__(
        self, redis_url: str, limit: str, *, service: str, key_prefix: str = "sb:"
    ) -> None:
        self._item: RateLimitItem = parse(limit)
        self._storage = RedisStorage(
            redis_url.replace("redis://", "async+redis://", 1),
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=f"{key_prefix}rl:{service}",
            socket_timeout=0.5,  # a slow limiter must not slow the API by more than this
            socket_connect_timeout=0.5,
        )
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._service = service
        self._store_down = False  # logged once per outage, not once per request

    async def hit(self, key: str) -> Verdict:
        """Count one request of ``key``; refused when the key is over its limit."""
        ident = hashlib.sha256(key.encode()).hexdigest()[:24]
        try:
            allowed = await self._limiter.hit(self._item, ident)
            stats = None if allowed else await self._limiter.get_window_stats(self._item, ident)
        except Exception:
            RATE_LIMIT_UNCHECKED.labels(self._service).inc()
            if not self._store_down:
                log.warning("rate limit store unreachable; requests let through until it is back")
            self._store_down = True
            return Verdict(allowed=True)
        if self._store_down:
            log.info("rate limit store reachable again")
            self._store_down = False
        if stats is None:
            return Verdict(allowed=True)
        RATE_LIMITED.labels(self._service).inc()
        return Verdict(allowed=False, retry_after_s=max(1, int(stats.reset_time - time.time())))
