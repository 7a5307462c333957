"""The agent desk WebSocket in-process (uvicorn on a free port) against a real Redis.

The publish and call-context ports are fakes (what the desk publishes is read back from them);
the clock is a fake one the tests move; bridge tokens really go to Redis and are redeemed there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from redis.asyncio import Redis

from services.session.adapters.redis_registry import RedisSessionRegistry
from services.session.domain.agents import AgentConfig, AgentDirectory
from services.session.domain.registry import LiveSession
from services.session.entrypoints import desk as desk_entrypoint
from services.session.entrypoints.desk import desk_router
from services.session.handoff_desk import HandoffDesk
from services.session.ports import HandoffQueue
from shared.auth import hash_key
from shared.bridge_tokens import redeem_bridge_token
from shared.events import (
    DEFAULT_REGISTRY,
    Envelope,
    EscalationAssigned,
    EscalationRequested,
    Evidence,
    HandoffFailed,
    Hangup,
    ToolExecute,
    new_event,
)
from shared.lines.model import HandoffSettings, SupportLine

GATEWAY_URL = "http://gateway.test:8080"
LINE = SupportLine(
    line_id="demo-retail",
    name="Demo",
    human_queue="retail-support",
    handoff=HandoffSettings(max_wait_s=60, offer_timeout_s=20),
)
KEYS = {"alice": "sb_desk_alice-secret", "bob": "sb_desk_bob-secret"}
AGENTS = AgentDirectory(
    [
        AgentConfig(
            agent_id="alice",
            name="Alice",
            queues=("retail-support",),
            key_hash=hash_key(KEYS["alice"]),
        ),
        AgentConfig(
            agent_id="bob",
            name="Bob",
            queues=("billing", "retail-support"),
            key_hash=hash_key(KEYS["bob"]),
        ),
    ]
)


@dataclass
class FakePublisher:
    sent: list[tuple[str, Envelope]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, topic: str, envelope: Envelope) -> bool:
        self.sent.append((topic, envelope))
        self.arrived.set()
        return True

    async def wait_for(self, event_type: str) -> None:
        while not self.of_type(event_type):
            self.arrived.clear()
            await self.arrived.wait()

    def of_type(self, event_type: str) -> list[tuple[str, Envelope]]:
        return [(t, e) for t, e in self.sent if e.type == event_type]


class FakeContext:
    async def describe(self, call_id: str) -> dict[str, Any]:
        return {
            "summary": f"Summary of {call_id}",
            "transcript": [{"role": "user", "text": "my order <ORDER_ID> is late"}],
        }


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Stack:
    desk: HandoffDesk
    redis: Redis
    prefix: str
    publisher: FakePublisher
    clock: FakeClock
    url: str

    async def escalate(self, call_id: str, *, queue: str, priority: int) -> None:
        escalation = EscalationRequested(
            rule_id="asked_for_person",
            reasons=["asked for a person twice"],
            queue=queue,
            priority=priority,
            evidence=[Evidence(signal="asked_for_person", item_ids=["i1", "i2"], value=2)],
        )
        envelope = new_event(escalation, call_id=call_id, line_id="demo-retail", source="rules")
        await self.desk.enqueue(envelope, escalation, gateway_url=GATEWAY_URL)


@contextlib.asynccontextmanager
async def running_desk(redis_url: str, prefix: str) -> AsyncIterator[Stack]:
    redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    publisher, clock = FakePublisher(), FakeClock()
    desk = HandoffDesk(
        agents=AGENTS,
        redis=redis,
        publisher=publisher,
        context=FakeContext(),
        clock=clock,
        lines={"demo-retail": LINE},
        source="session-test",
        redis_prefix=prefix,
        registry=RedisSessionRegistry(redis, prefix=prefix),
        tick_s=0.05,
    )
    app = FastAPI()
    app.include_router(desk_router(desk))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve(), name="desk-test-server")
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and not serving.done(), "desk server did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    await desk.start()
    try:
        yield Stack(desk, redis, prefix, publisher, clock, f"ws://127.0.0.1:{port}/v1/desk/ws")
    finally:
        await desk.aclose()
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        await redis.aclose()


async def receive(ws: Any, kind: str, within_s: float = 3.0) -> dict[str, Any]:
    """The next message of type ``kind`` (others before it are skipped)."""
    async with asyncio.timeout(within_s):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return dict(message)


async def nothing_of(ws: Any, kind: str, within: float = 0.3) -> bool:
    try:
        await receive(ws, kind, within)
    except TimeoutError:
        return True
    return False


@contextlib.asynccontextmanager
async def signed_in(stack: Stack, agent_id: str, *, available: bool = True) -> AsyncIterator[Any]:
    async with websockets.connect(stack.url) as ws:
        await ws.send(json.dumps({"type": "auth", "key": KEYS[agent_id]}))
        hello = await receive(ws, "hello")
        assert hello["agent_id"] == agent_id
        if available:
            await ws.send(json.dumps({"type": "status", "available": True}))
            assert (await receive(ws, "status"))["available"] is True
        yield ws


async def test_a_wrong_key_or_no_auth_message_closes_1008(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        for first in ({"type": "auth", "key": "sb_desk_nope"}, {"type": "status"}):
            async with websockets.connect(stack.url) as ws:
                await ws.send(json.dumps(first))
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 3)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_silence_after_connecting_closes_1008(infra, unique, monkeypatch) -> None:
    monkeypatch.setattr(desk_entrypoint, "AUTH_TIMEOUT_S", 0.3)
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with websockets.connect(stack.url) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_agents_get_offers_from_their_queues_best_call_first(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        await stack.escalate("call-billing", queue="billing", priority=10)
        await stack.escalate("call-low", queue="retail-support", priority=0)
        stack.clock.now += 5
        await stack.escalate("call-urgent", queue="retail-support", priority=50)
        async with signed_in(stack, "alice") as alice:
            # Alice holds retail-support only: of its two calls, the higher priority one.
            offer = await receive(alice, "offer")
            assert offer["call_id"] == "call-urgent"
            assert offer["queue"] == "retail-support" and offer["priority"] == 50
            assert offer["summary"] == "Summary of call-urgent"
            assert offer["transcript"] == [{"role": "user", "text": "my order <ORDER_ID> is late"}]
            assert offer["reasons"] == ["asked for a person twice"]
            assert offer["evidence"][0]["signal"] == "asked_for_person"
            assert offer["expires_in_s"] == 20
            stack.clock.now += 2
            async with signed_in(stack, "bob") as bob:
                # Bob holds billing too: the billing call outranks the retail call left.
                offer = await receive(bob, "offer")
                assert offer["call_id"] == "call-billing"
                assert offer["waited_s"] == 7
                assert await nothing_of(alice, "offer")


async def test_accepting_gives_a_bridge_url_whose_token_redeems_to_the_grant(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with signed_in(stack, "alice") as alice:
            await stack.escalate("call-1", queue="retail-support", priority=0)
            offer = await receive(alice, "offer")
            await alice.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            assigned = await receive(alice, "assigned")
            assert assigned["call_id"] == "call-1"
            url = urlparse(assigned["bridge_url"])
            assert f"{url.scheme}://{url.netloc}{url.path}" == f"{GATEWAY_URL}/v1/bridge"
            token = parse_qs(url.query)["token"][0]
            grant = await redeem_bridge_token(stack.redis, token, prefix=stack.prefix)
            assert grant is not None
            assert (grant.call_id, grant.agent_id, grant.queue) == (
                "call-1",
                "alice",
                "retail-support",
            )
            assert await redeem_bridge_token(stack.redis, token, prefix=stack.prefix) is None
            [(topic, envelope)] = stack.publisher.of_type("escalation.assigned")
            assert topic == "cc.call-events.v1" and envelope.call_id == "call-1"
            payload = DEFAULT_REGISTRY.decode(envelope)
            assert payload == EscalationAssigned(queue="retail-support", agent_id="alice")
            # A second accept of the same offer is refused.
            await alice.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            assert (await receive(alice, "error"))["code"] == "offer_gone"


async def test_an_offer_left_unanswered_moves_to_the_next_agent(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with signed_in(stack, "alice") as alice:
            stack.clock.now += 1
            async with signed_in(stack, "bob") as bob:
                await stack.escalate("call-1", queue="retail-support", priority=0)
                offer = await receive(alice, "offer")  # idle longest
                assert await nothing_of(bob, "offer")
                stack.clock.now += 20  # the routing loop sees the offer expire
                withdrawn = await receive(alice, "offer.withdrawn")
                assert withdrawn == {
                    "type": "offer.withdrawn",
                    "offer_id": offer["offer_id"],
                    "reason": "timeout",
                }
                assert (await receive(bob, "offer"))["call_id"] == "call-1"


async def test_a_call_nobody_takes_is_given_up_with_a_callback(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        await stack.escalate("call-1", queue="retail-support", priority=0)
        stack.clock.now += 59
        await asyncio.sleep(0.2)
        assert stack.publisher.sent == []
        stack.clock.now += 1
        async with asyncio.timeout(3):
            await stack.publisher.wait_for("tool.execute")
        [(control, hangup)] = stack.publisher.of_type("hangup")
        assert control == "cc.call-control.v1" and hangup.call_id == "call-1"
        assert DEFAULT_REGISTRY.decode(hangup) == Hangup(
            issued_by="session:handoff-desk",
            reason="no_agent_available",
            say=LINE.handoff.no_agent_message,
        )
        [(events, failed)] = stack.publisher.of_type("handoff.failed")
        assert events == "cc.call-events.v1"
        assert DEFAULT_REGISTRY.decode(failed) == HandoffFailed(reason="no_agent_available")
        [(requests, ticket)] = stack.publisher.of_type("tool.execute")
        assert requests == "cc.tool-requests.v1" and ticket.line_id == "demo-retail"
        execute = DEFAULT_REGISTRY.decode(ticket)
        assert isinstance(execute, ToolExecute)
        assert execute.name == "create_ticket" and execute.reply_to == "session-test"
        assert execute.arguments["subject"] == "Callback requested"
        assert "call-1" in execute.arguments["description"]
        assert execute.idempotency_key == "callback:call-1"
        assert execute.deadline_at > datetime.now(UTC)


async def test_a_caller_who_hangs_up_has_the_offer_withdrawn(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with signed_in(stack, "alice") as alice:
            await stack.escalate("call-1", queue="retail-support", priority=0)
            offer = await receive(alice, "offer")
            await stack.desk.caller_left("call-1")
            withdrawn = await receive(alice, "offer.withdrawn")
            assert withdrawn["offer_id"] == offer["offer_id"]
            assert withdrawn["reason"] == "caller_left"


async def test_the_agent_ends_the_call_and_is_free_for_the_next(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with signed_in(stack, "alice") as alice:
            await stack.escalate("call-1", queue="retail-support", priority=0)
            await stack.escalate("call-2", queue="retail-support", priority=0)
            offer = await receive(alice, "offer")
            await alice.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            await receive(alice, "assigned")
            stack.desk.bridged("call-1")
            assert await nothing_of(alice, "offer")  # busy: call-2 waits
            await alice.send(json.dumps({"type": "end", "call_id": "call-2"}))
            assert (await receive(alice, "error"))["code"] == "not_your_call"
            await alice.send(json.dumps({"type": "end", "call_id": "call-1"}))
            assert (await receive(alice, "call.ended"))["call_id"] == "call-1"
            [(topic, hangup)] = stack.publisher.of_type("hangup")
            assert topic == "cc.call-control.v1" and hangup.call_id == "call-1"
            assert DEFAULT_REGISTRY.decode(hangup) == Hangup(
                issued_by="desk:alice", reason="agent_ended"
            )
            assert (await receive(alice, "offer"))["call_id"] == "call-2"


async def test_a_second_sign_in_replaces_the_first_and_keeps_the_offer(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with signed_in(stack, "alice") as first:
            await stack.escalate("call-1", queue="retail-support", priority=0)
            await receive(first, "offer")
            async with signed_in(stack, "alice") as second:
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await asyncio.wait_for(first.recv(), 3)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.reason == "signed_in_elsewhere"
                assert (await receive(second, "offer"))["call_id"] == "call-1"


async def test_an_oversized_message_closes_1009(infra, unique) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        async with signed_in(stack, "alice") as alice:
            await alice.send(json.dumps({"type": "status", "pad": "x" * 10_000}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(alice.recv(), 3)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_without_a_gateway_url_the_desk_reads_it_from_the_session_registry(
    infra, unique
) -> None:
    async with running_desk(infra.redis_url, f"t{unique}:") as stack:
        queue: HandoffQueue = stack.desk  # what the session handlers call
        registry = RedisSessionRegistry(stack.redis, prefix=stack.prefix)
        await registry.put(LiveSession(call_id="call-1", gateway_url="http://gw-2.test:9000"))
        escalation = EscalationRequested(rule_id="r", queue="retail-support")
        envelope = new_event(escalation, call_id="call-1", line_id="demo-retail", source="s")
        async with signed_in(stack, "alice") as alice:
            await queue.enqueue(envelope, escalation)
            offer = await receive(alice, "offer")
            await alice.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            assigned = await receive(alice, "assigned")
            assert assigned["bridge_url"].startswith("http://gw-2.test:9000/v1/bridge?token=brg_")
            # A call the registry does not know cannot be bridged: given up at once.
            escalation = EscalationRequested(rule_id="r", queue="retail-support")
            unknown = new_event(escalation, call_id="call-2", line_id="demo-retail", source="s")
            await queue.enqueue(unknown, escalation)
            [(_, failed)] = stack.publisher.of_type("handoff.failed")
            assert failed.call_id == "call-2"
            assert DEFAULT_REGISTRY.decode(failed) == HandoffFailed(reason="no_gateway_url")
