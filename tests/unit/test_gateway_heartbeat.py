"""The gateway's heartbeat: a gateway that stops beating leaves its live calls resumable."""

from __future__ import annotations

import asyncio
import contextlib

from services.gateway import handlers
from services.gateway.domain.checkpoint import Checkpoint
from tests.support.fakes import FakeSessionStore
from tests.support.waiting import wait_until

SESSION = "sess_" + "1" * 32


def live_checkpoint(gateway_id: str) -> Checkpoint:
    return Checkpoint(
        session_id=SESSION,
        owner="sha256:owner",
        line_id="demo-retail",
        gateway_id=gateway_id,
        started_at=1_700_000_000.0,
        max_session_s=3600,
        config={},
    )


async def test_a_beating_gateway_keeps_its_calls_and_a_stopped_one_lets_them_go() -> None:
    gw_a = FakeSessionStore("a")
    gw_b = gw_a.sibling("b")
    await gw_a.save(live_checkpoint("gw-a"), 3600)
    beating = asyncio.create_task(handlers.keep_beating(gw_a, gateway_id="gw-a", every_s=0.2))
    try:
        await asyncio.sleep(0.05)
        assert await gw_b.claim(SESSION, "gw-b") is None
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    gw_a.beats["gw-a"] = ("a", 0.0)  # three periods without a beat: the process is gone
    claimed = await gw_b.claim(SESSION, "gw-b")
    assert claimed is not None and claimed.gateway_id == "gw-b"


class BrokenStore(FakeSessionStore):
    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def beat(self, gateway_id: str, ttl_s: int) -> None:
        self.attempts += 1
        raise ConnectionError("redis away")


async def test_redis_away_does_not_stop_the_heartbeat() -> None:
    store = BrokenStore()
    beating = asyncio.create_task(handlers.keep_beating(store, gateway_id="gw-a", every_s=0.01))
    try:
        # It keeps trying after each failure.
        assert await wait_until(lambda: store.attempts >= 3, 5, 0.01)
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
