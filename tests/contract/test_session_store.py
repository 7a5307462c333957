"""One contract for the gateway's session and token stores, run on the fake and on Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.gateway.adapters.redis_sessions import RedisSessionStore, RedisTokenStore
from services.gateway.domain.checkpoint import Checkpoint, TokenGrant
from tests.support.fakes import FakeSessionStore, FakeTokenStore


@pytest.fixture(params=["fake", "redis"])
async def stores(request, infra) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def, type-arg]
    if request.param == "fake":
        yield FakeSessionStore(), FakeTokenStore()
        return
    redis = Redis.from_url(infra.redis_url, socket_timeout=2)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    yield RedisSessionStore(redis, prefix=prefix), RedisTokenStore(redis, prefix=prefix)
    keys = [k async for k in redis.scan_iter(f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def checkpoint(state: str = "live") -> Checkpoint:
    return Checkpoint(
        session_id="sess_" + uuid.uuid4().hex,
        owner="sha256:owner",
        line_id="demo-retail",
        gateway_id="gw-a",
        state=state,  # type: ignore[arg-type]
        started_at=1_700_000_000.0,
        max_session_s=3600,
        config={"system_prompt": "be brief"},
        context=[{"role": "user", "content": "hello"}],
    )


async def test_save_and_load_round_trip(stores) -> None:  # type: ignore[no-untyped-def]
    sessions, _ = stores
    cp = checkpoint()
    await sessions.save(cp, 60)
    assert await sessions.load(cp.session_id) == cp
    assert await sessions.load("sess_missing") is None


async def test_only_a_dropped_session_can_be_claimed_and_only_once(stores) -> None:  # type: ignore[no-untyped-def]
    sessions, _ = stores
    live = checkpoint("live")
    await sessions.save(live, 60)
    await sessions.beat("gw-a", 60)  # its gateway is alive
    assert await sessions.claim(live.session_id, "gw-b") is None
    dropped = checkpoint("dropped")
    await sessions.save(dropped, 30)
    results = await asyncio.gather(
        *(sessions.claim(dropped.session_id, f"gw-{n}") for n in range(5))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].state == "live"
    assert (await sessions.load(dropped.session_id)).gateway_id == winners[0].gateway_id
    assert await sessions.release(dropped.session_id) is None  # resumed: not released


@pytest.fixture(params=["fake", "redis"])
async def two_processes(request, infra) -> AsyncIterator[tuple]:  # type: ignore[no-untyped-def, type-arg]
    """Two gateway processes' session stores over the same state."""
    if request.param == "fake":
        first = FakeSessionStore("one")
        yield first, first.sibling("two")
        return
    redis = Redis.from_url(infra.redis_url, socket_timeout=2)
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    yield (
        RedisSessionStore(redis, prefix=prefix, instance="one"),
        RedisSessionStore(redis, prefix=prefix, instance="two"),
    )
    keys = [k async for k in redis.scan_iter(f"{prefix}*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_a_live_session_of_a_gateway_that_died_is_claimed_once(two_processes) -> None:  # type: ignore[no-untyped-def]
    dead, other = two_processes
    orphan = checkpoint("live")  # gw-a is killed (SIGKILL) without marking it dropped
    await dead.save(orphan, 60)
    await dead.beat("gw-a", 1)
    assert await other.claim(orphan.session_id, "gw-b") is None  # gw-a still beats
    await asyncio.sleep(1.2)
    assert await dead.claim(orphan.session_id, "gw-c") is None  # never the writer's own
    for n in range(5):  # the claimants are alive: the winner's claim holds
        await other.beat(f"gw-{n}", 60)
    results = await asyncio.gather(*(other.claim(orphan.session_id, f"gw-{n}") for n in range(5)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].state == "live"
    assert (await other.load(orphan.session_id)).gateway_id == winners[0].gateway_id


async def test_a_gateway_restarted_under_its_id_frees_its_old_calls(two_processes) -> None:  # type: ignore[no-untyped-def]
    before, after = two_processes
    live = checkpoint("live")
    await before.save(live, 60)
    await before.beat("gw-a", 60)
    assert await after.claim(live.session_id, "gw-b") is None
    await after.beat("gw-a", 60)  # the new process of gw-a: its predecessor's calls are free
    claimed = await after.claim(live.session_id, "gw-a")
    assert claimed is not None and claimed.gateway_id == "gw-a"


WINDOW_S = 5.0
TTL_S = 60


async def test_a_dead_gateways_live_call_is_orphaned_then_ended_once(two_processes) -> None:  # type: ignore[no-untyped-def]
    dead, other = two_processes
    orphan = checkpoint("live")  # gw-a is SIGKILLed: no heartbeat, the call stays live
    await dead.save(orphan, 3600)
    start = time.time()
    assert await other.due(WINDOW_S, 10, now=start) == []  # written just now
    assert await other.due(WINDOW_S, 10, now=start + WINDOW_S + 1) == [orphan.session_id]
    marked = await other.adopt(
        orphan.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=start + WINDOW_S + 1
    )
    assert marked == ("orphaned", None)
    assert (await other.load(orphan.session_id)).state == "dropped"  # resumable for a window
    # Not due again until a whole window after the mark.
    assert await other.due(WINDOW_S, 10, now=start + 2 * WINDOW_S) == []
    later = start + 2 * WINDOW_S + 1.5
    assert await other.due(WINDOW_S, 10, now=later) == [orphan.session_id]
    results = await asyncio.gather(  # five sweepers at once
        *(
            other.adopt(orphan.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=later)
            for _ in range(5)
        )
    )
    ended = [cp for outcome, cp in results if outcome == "ended"]
    assert len(ended) == 1 and ended[0].session_id == orphan.session_id, results
    assert ended[0].line_id == orphan.line_id and ended[0].started_at == orphan.started_at
    assert await other.load(orphan.session_id) is None
    assert await other.due(WINDOW_S, 10, now=later + WINDOW_S) == []  # gone from the index
    assert await other.claim(orphan.session_id, "gw-b") is None  # too late to resume


async def test_a_dead_gateways_dropped_call_is_ended_after_its_window(two_processes) -> None:  # type: ignore[no-untyped-def]
    dead, other = two_processes
    dropped = checkpoint("dropped")  # its client left, then gw-a died within the window
    await dead.save(dropped, TTL_S)
    now = time.time()
    waiting = await other.adopt(dropped.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=now)
    assert waiting == ("waiting", None)
    outcome, ended = await other.adopt(
        dropped.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=now + WINDOW_S + 1
    )
    assert outcome == "ended" and ended is not None and ended.session_id == dropped.session_id


async def test_the_sweep_leaves_a_live_gateways_calls_alone(two_processes) -> None:  # type: ignore[no-untyped-def]
    owner, other = two_processes
    await owner.beat("gw-a", 60)
    live, dropped = checkpoint("live"), checkpoint("dropped")
    await owner.save(live, 3600)
    await owner.save(dropped, TTL_S)  # gw-a holds its window and ends it itself
    later = time.time() + 3 * WINDOW_S
    for cp in (live, dropped):
        outcome = await other.adopt(cp.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=later)
        assert outcome == ("alive", None)
        assert await other.load(cp.session_id) == cp  # untouched
        # The writer itself never sweeps its own calls, beating or not.
        mine = await owner.adopt(cp.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=later)
        assert mine == ("alive", None)
    # Looked at: not due again for a window.
    assert await other.due(WINDOW_S, 10, now=later) == []
    assert (await owner.release(dropped.session_id)).session_id == dropped.session_id
    assert await other.due(WINDOW_S, 10, now=later + 2 * WINDOW_S) == [live.session_id]


async def test_a_resume_and_the_sweep_cannot_both_win(two_processes) -> None:  # type: ignore[no-untyped-def]
    dead, other = two_processes
    await other.beat("gw-b", 60)  # the resuming gateway is alive
    for _ in range(5):
        cp = checkpoint("dropped")
        await dead.save(cp, TTL_S)
        late = time.time() + WINDOW_S + 1
        claimed, (outcome, ended) = await asyncio.gather(
            other.claim(cp.session_id, "gw-b"),
            other.adopt(cp.session_id, window_s=WINDOW_S, ttl_s=TTL_S, now=late),
        )
        assert (claimed is None) != (ended is None), (claimed, outcome)
        if claimed is not None:  # resumed: the sweep leaves it to gw-b
            assert outcome in ("alive", "gone", "moved")
            assert await other.adopt(cp.session_id, window_s=0, ttl_s=TTL_S) == ("alive", None)


async def test_due_is_bounded_and_oldest_first(stores) -> None:  # type: ignore[no-untyped-def]
    sessions, _ = stores
    saved = []
    for _ in range(4):
        cp = checkpoint("live")
        await sessions.save(cp, 3600)
        saved.append(cp.session_id)
    due = await sessions.due(WINDOW_S, 2, now=time.time() + WINDOW_S + 1)
    assert due == saved[:2]
    await sessions.delete(saved[0])
    assert await sessions.due(WINDOW_S, 10, now=time.time() + WINDOW_S + 1) == saved[1:]


async def test_release_takes_a_dropped_session_away(stores) -> None:  # type: ignore[no-untyped-def]
    sessions, _ = stores
    dropped = checkpoint("dropped")
    await sessions.save(dropped, 30)
    assert (await sessions.release(dropped.session_id)).session_id == dropped.session_id
    assert await sessions.load(dropped.session_id) is None
    assert await sessions.claim(dropped.session_id, "gw-b") is None


async def test_checkpoints_expire(stores) -> None:  # type: ignore[no-untyped-def]
    sessions, _ = stores
    cp = checkpoint("dropped")
    await sessions.save(cp, 1)
    await asyncio.sleep(1.2)
    assert await sessions.load(cp.session_id) is None


async def test_tokens_are_single_use_and_expire(stores) -> None:  # type: ignore[no-untyped-def]
    _, tokens = stores
    grant = TokenGrant(owner="sha256:owner", max_session_s=600)
    await tokens.issue("tok-a", grant, 60)
    assert await tokens.redeem("tok-a") == grant
    assert await tokens.redeem("tok-a") is None
    await tokens.issue("tok-b", grant, 1)
    await asyncio.sleep(1.2)
    assert await tokens.redeem("tok-b") is None
    assert await tokens.redeem("never-issued") is None
