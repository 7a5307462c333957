"""Per-key rate limits on a real Redis, and what happens when Redis is not there."""

from __future__ import annotations

from prometheus_client import REGISTRY

from shared.http.ratelimit import KeyRateLimiter


async def test_a_key_over_its_window_is_refused_and_another_key_is_not(infra, unique) -> None:
    limiter = KeyRateLimiter(infra.redis_url, "2/minute", service="t", key_prefix=f"t{unique}:")

    verdicts = [await limiter.hit("key-a") for _ in range(3)]

    assert [v.allowed for v in verdicts] == [True, True, False]
    assert 1 <= verdicts[2].retry_after_s <= 60
    assert (await limiter.hit("key-b")).allowed


async def test_an_unreachable_store_lets_requests_through_and_counts_them() -> None:
    limiter = KeyRateLimiter("redis://127.0.0.1:1/0", "1/minute", service="down")

    def unchecked() -> float:
        labels = {"service": "down"}
        return REGISTRY.get_sample_value("switchboard_rate_limit_unchecked_total", labels) or 0.0

    before = unchecked()
    assert all([(await limiter.hit("k")).allowed for _ in range(3)])
    assert unchecked() == before + 3
