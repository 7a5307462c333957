"""Retry and circuit-breaker rules (pure; the clock and randomness are passed in)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
RETRY_BACKOFF_MIN_S = 0.05
RETRY_BACKOFF_MAX_S = 1.0


def retry_backoff(
    attempt: int,
    *,
    low: float = RETRY_BACKOFF_MIN_S,
    high: float = RETRY_BACKOFF_MAX_S,
    rng: Callable[[float, float], float] = random.uniform,
) -> float:
    """Capped exponential backoff with full jitter before attempt ``attempt + 1``."""
    return rng(low, min(high, low * 2 ** (attempt - 1)) + low)


def may_retry(effect: str, has_idempotency_key: bool) -> bool:
    """Reads are safe to retry; a write only when the backend can deduplicate it by key."""
    return effect == "read" or has_idempotency_key


@dataclass
class CircuitBreaker:
    """Opens after ``failures`` consecutive failures; after ``reset_s`` lets one trial through.

    While open, calls fail at once (the caller hears "the system is unavailable" in
    milliseconds instead of waiting out every deadline). A successful trial closes it; a
    failed one opens it for another ``reset_s``.
    """

    failures: int
    reset_s: float
    clock: Callable[[], float]
    state: BreakerState = "closed"
    consecutive: int = 0
    opened_at: float = 0.0
    _trial_out: bool = field(default=False, repr=False)

    def allow(self) -> bool:
        """May a call go to the backend now? In half-open, one call at a time is let through."""
        if self.state == "closed":
            return True
        if self.state == "open" and self.clock() - self.opened_at >= self.reset_s:
            self.state = "half_open"
            self._trial_out = False
        if self.state == "half_open" and not self._trial_out:
            self._trial_out = True
            return True
        return False

    def record_success(self) -> None:
        self.state = "closed"
        self.consecutive = 0
        self._trial_out = False

    def record_failure(self) -> None:
        self.consecutive += 1
        if self.state == "half_open" or self.consecutive >= self.failures:
            self.state = "open"
            self.opened_at = self.clock()
            self._trial_out = False
