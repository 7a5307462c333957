"""The gateway's heartbeat: a gateway that stops beating leaves its live calls resumable."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from services.gateway import handlers
from services.gateway.domain.checkpoint import Checkpoint
from shared.events import CallEnded
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


def checkpoint_of(gateway_id: str, session_id: str) -> Checkpoint:
    return live_checkpoint(gateway_id).model_copy(update={"session_id": session_id})


async def test_the_sweep_ends_a_dead_gateways_unresumed_call_once() -> None:
    dead = FakeSessionStore("a")  # gw-a was SIGKILLed: it never beats again
    survivors = [dead.sibling("b"), dead.sibling("c")]
    await survivors[0].beat("gw-b", 60)
    await dead.save(checkpoint_of("gw-a", "sess_orphan"), 3600)
    await survivors[0].save(checkpoint_of("gw-b", "sess_alive"), 3600)
    published: list[tuple[str, str, Any]] = []

    def publish(session_id: str, line_id: str, payload: Any) -> None:
        published.append((session_id, line_id, payload))

    async def sweep_both() -> list[dict[str, int]]:
        return list(
            await asyncio.gather(
                *(handlers.sweep_orphans(s, publish, window_s=0.0) for s in survivors)
            )
        )

    # The orphan is marked dropped: its caller may still resume it for a window.
    first = await handlers.sweep_orphans(survivors[0], publish, window_s=0.0)
    assert published == [] and first == {"orphaned": 1, "alive": 1}, first
    assert (await dead.load("sess_orphan")).state == "dropped"  # type: ignore[union-attr]
    await sweep_both()  # its window (0 s here) has passed: ended once, by one of the two
    await sweep_both()
    assert [(s, line) for s, line, _ in published] == [("sess_orphan", "demo-retail")]
    ended = published[0][2]
    assert isinstance(ended, CallEnded) and ended.reason == "gateway_lost"
    assert ended.duration_s >= time.time() - 1_700_000_000.0 - 5
    assert (await dead.load("sess_alive")) is not None  # a live gateway's call is left alone


async def test_a_failing_store_ends_the_pass_not_the_sweep() -> None:
    class Failing(FakeSessionStore):
        async def due(self, window_s: float, limit: int, now: float | None = None) -> list[str]:
            raise ConnectionError("redis away")

    stop = asyncio.Event()
    store = Failing()
    sweeping = asyncio.create_task(
        handlers.keep_sweeping(store, lambda *_: None, every_s=0.01, window_s=1, stop=stop)
    )
    await asyncio.sleep(0.05)
    assert not sweeping.done()
    stop.set()
    await asyncio.wait_for(sweeping, 1)
