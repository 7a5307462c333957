"""Call control and the agents' bridge end to end: the gateway app in-process, the real broker
and Redis. Commands go out on ``cc.call-control.v1`` with the shared producer; what the caller
receives is read on its socket, and the call events on ``cc.call-events.v1``.

The gateway runs with ``GATEWAY_VOICE=echo`` (no speech models: audio content is not the point
here) and a scripted dialogue model that answers differently once it has been whispered to.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import websockets
from redis.asyncio import Redis

from infra.localstack.infrastructure import Infrastructure, free_port
from services.gateway.bootstrap import create_app
from services.gateway.dialogue.base import DialogueOutput, Message, TextDelta
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.settings import GatewaySettings
from shared.audio.codecs import WIRE_FORMATS
from shared.bridge_tokens import BridgeGrant, issue_bridge_token
from shared.events import (
    Envelope,
    EventPayload,
    Handoff,
    Hangup,
    PauseAgent,
    ResumeAgent,
    Say,
    Whisper,
    new_event,
)
from shared.kafka.producer import BufferedProducer
from shared.settings import AuthSettings, KafkaSettings, RedisSettings
from tests.conftest import Keys, topics_of_own
from tests.support.calls import Caller, rms, tone
from tests.support.kafka import read_topic
from tests.support.serving import serving
from tests.support.waiting import wait_until

WHISPER = "mention the winter sale"
PLAIN_ANSWER = "Happy to help with that."
WHISPERED_ANSWER = "Our winter sale ends on Friday."
MULAW = WIRE_FORMATS["audio/pcmu"]


class ScriptedModel:
    """A dialogue model that follows a supervisor's whisper when one is in its prompt."""

    name = "scripted"

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]], *, max_tokens: int
    ) -> AsyncIterator[DialogueOutput]:
        system = " ".join(str(m.get("content")) for m in messages if m.get("role") == "system")
        yield TextDelta(WHISPERED_ANSWER if WHISPER in system else PLAIN_ANSWER)

    async def aclose(self) -> None:
        return None


@dataclass
class Gateway:
    port: int
    ctx: GatewayContext
    kafka: KafkaSettings
    producer: BufferedProducer
    redis: Redis
    prefix: str
    key: str

    async def command(self, payload: EventPayload, call_id: str) -> Envelope:
        envelope = new_event(payload, call_id=call_id, line_id="demo-retail", source="test")
        topic = self.kafka.topic("cc.call-control.v1")
        await self.producer.send_now(topic, key=call_id.encode(), value=envelope.to_json())
        return envelope

    async def events(self, call_id: str, until: Callable[[list[Envelope]], bool]) -> list[Envelope]:
        """The call's events on the events topic, once ``until`` holds (or after 20 s)."""
        topic = self.kafka.topic("cc.call-events.v1")
        found: list[Envelope] = []
        for _ in range(20):
            records = await read_topic(
                self.kafka.bootstrap_servers, topic, expect=10**6, timeout_s=1
            )
            found = [Envelope.from_json(r.value) for r in records]
            found = [e for e in found if e.call_id == call_id]
            if until(found):
                break
        return found

    def url(self, path: str = "/v1/ws") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
async def gateway(infra: Infrastructure, keys: Keys) -> AsyncIterator[Gateway]:
    unique = uuid.uuid4().hex[:10]
    kafka = await topics_of_own(infra, unique)
    port = free_port()
    prefix = f"t{unique}:"
    settings = GatewaySettings(
        GATEWAY_PORT=port,
        GATEWAY_ID=f"gw-{unique}",
        GATEWAY_VOICE="echo",
        kafka=kafka,
        redis=RedisSettings(REDIS_URL=infra.redis_url, REDIS_KEY_PREFIX=prefix),
        auth=AuthSettings(AUTH_KEY_HASHES=keys.hashes),
    )
    app = create_app(settings)
    ctx: GatewayContext = app.state.context
    ctx.dialogue.llm = ScriptedModel()
    producer = BufferedProducer(kafka, client_id="test-supervisor")
    await producer.start()
    redis = Redis.from_url(infra.redis_url)
    try:
        async with serving(app, port):
            # The control consumer joins its group (a few seconds on tansu) before the tests run,
            # so their timings measure the commands, not the join.
            assert await wait_until(lambda: app.state.control.runner.running, 30)
            yield Gateway(port, ctx, kafka, producer, redis, prefix, keys.gateway)
    finally:
        await producer.close()
        await redis.aclose()


def connect(gateway: Gateway) -> Any:
    return websockets.connect(
        gateway.url(), additional_headers={"Authorization": f"Bearer {gateway.key}"}
    )


def of_type(events: list[Envelope], kind: str) -> list[dict[str, Any]]:
    return [dict(e.payload) for e in events if e.type == kind]


async def test_commands_steer_a_live_call(gateway: Gateway) -> None:
    async with connect(gateway) as ws:
        caller = Caller(ws)
        call_id = await caller.ready()
        session = gateway.ctx.calls[call_id].conn.session

        say = await gateway.command(Say(issued_by="supervisor:k1", text="A word from us."), call_id)
        assert (await caller.next("transcript.agent", 20))["text"] == "A word from us."

        assert await caller.answer_to("what do you recommend") == PLAIN_ANSWER
        whisper = await gateway.command(Whisper(issued_by="supervisor:k1", text=WHISPER), call_id)
        assert await wait_until(lambda: session.whispers, 10)
        assert await caller.answer_to("what do you recommend") == WHISPERED_ANSWER

        pause = await gateway.command(PauseAgent(issued_by="supervisor:k1"), call_id)
        assert await wait_until(lambda: session.paused, 10)
        await ws.send(json.dumps({"type": "input.text", "text": "hello, anyone there"}))
        await caller.next("transcript.user")
        with pytest.raises(TimeoutError):
            await caller.next("transcript.agent", timeout_s=1.5)  # no AI answer while paused
        resume = await gateway.command(ResumeAgent(issued_by="supervisor:k1"), call_id)
        assert await wait_until(lambda: not session.paused, 10)
        assert await caller.answer_to("what do you recommend") == WHISPERED_ANSWER

        # Another gateway's call: skipped here (no control.applied for it).
        elsewhere = await gateway.command(Say(issued_by="rule:r", text="not here"), "sess_x")
        goodbye = Hangup(issued_by="supervisor:k1", reason="supervisor_hangup", say="Goodbye.")
        hangup = await gateway.command(goodbye, call_id)
        assert (await caller.next("transcript.agent", 20))["text"] == "Goodbye."
        await caller.next("session.ended")
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1000

    events = await gateway.events(call_id, lambda found: bool(of_type(found, "call.ended")))
    applied = {a["command_id"]: a for a in of_type(events, "control.applied")}
    commands = [say, whisper, pause, resume, hangup]
    assert [applied[str(c.event_id)]["command"] for c in commands] == [c.type for c in commands]
    assert all(applied[str(c.event_id)]["ok"] for c in commands)
    assert applied[str(say.event_id)]["issued_by"] == "supervisor:k1"
    assert str(elsewhere.event_id) not in applied
    assert [e["reason"] for e in of_type(events, "call.ended")] == ["supervisor_hangup"]
    started = of_type(events, "call.started")[0]
    assert started["attributes"] == {"gateway_url": f"ws://127.0.0.1:{gateway.port}"}
    states = [s["state"] for s in of_type(events, "call.state_changed")]
    assert states[:3] == ["listening", "agent_speaking", "listening"]
    assert all(a != b for a, b in itertools.pairwise(states))


async def _bridge_refusal(gateway: Gateway, token: str) -> tuple[int | None, str | None]:
    async with websockets.connect(gateway.url(f"/v1/bridge?token={token}")) as agent:
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(agent.recv(), 5)
        return agent.close_code, agent.close_reason


async def _token(gateway: Gateway, call_id: str) -> str:
    grant = BridgeGrant(call_id=call_id, agent_id="a-17", queue="billing")
    return await issue_bridge_token(gateway.redis, grant, prefix=gateway.prefix)


async def test_handoff_then_a_human_agent_bridges_in(gateway: Gateway) -> None:
    mulaw = {"format": {"encoding": "audio/pcmu"}}
    async with connect(gateway) as ws:
        caller = Caller(ws)
        call_id = await caller.ready(input=mulaw, output=mulaw)
        control = gateway.ctx.calls[call_id]
        # Not on hold yet: a valid token is refused for this call.
        assert await _bridge_refusal(gateway, await _token(gateway, call_id)) == (
            1008,
            "call_not_here",
        )

        await gateway.command(
            Handoff(issued_by="rule:r1", queue="billing", say="Please hold."), call_id
        )
        assert (await caller.next("transcript.agent", 20))["text"] == "Please hold."
        assert await wait_until(lambda: control.status.hold == "on_hold", 10)
        assert await _bridge_refusal(gateway, "brg_not-a-real-token") == (1008, "unauthorized")

        token = await _token(gateway, call_id)
        async with websockets.connect(gateway.url(f"/v1/bridge?token={token}")) as agent:
            ready = json.loads(await asyncio.wait_for(agent.recv(), 5))
            assert ready == {
                "type": "bridge.ready",
                "call_id": call_id,
                "sample_rate": 24_000,
                "encoding": "pcm16",
            }
            assert await _bridge_refusal(gateway, token) == (1008, "unauthorized")  # used

            # The caller's mu-law 8 kHz reaches the agent as PCM16 24 kHz with its energy.
            sent = tone(0.5, MULAW.sample_rate)
            for chunk in np.array_split(sent, 10):
                audio = base64.b64encode(MULAW.encode(chunk)).decode()
                await ws.send(json.dumps({"type": "input.audio", "audio": audio}))
            heard = b""
            async with asyncio.timeout(10):
                # All of it but the resampler's delay (a few ms held until more audio comes).
                while len(heard) < 0.4 * 24_000 * 2:
                    data = await agent.recv()
                    assert isinstance(data, bytes)
                    heard += data
            pcm = np.frombuffer(heard, dtype="<i2")
            assert rms(pcm) > 3000

            # The agent's PCM16 24 kHz reaches the caller as reply.audio in mu-law.
            for chunk in np.array_split(tone(0.5, 24_000), 10):
                await agent.send(chunk.astype("<i2").tobytes())
            got: list[bytes] = []
            async with asyncio.timeout(10):
                while sum(len(g) for g in got) < 0.4 * MULAW.sample_rate:
                    frame = await caller.next("reply.audio")
                    if frame["reply_id"].startswith("reply_human_"):
                        got.append(base64.b64decode(frame["data"]))
            assert rms(MULAW.decode(b"".join(got))) > 3000

            # A frame over 64 KiB closes the bridge; the call stays on hold.
            await agent.send(b"\x00" * (65 * 1024))
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(agent.recv(), 5)
            assert agent.close_code == 1009
        assert await wait_until(lambda: control.status.hold == "on_hold", 10)

        token = await _token(gateway, call_id)
        async with websockets.connect(gateway.url(f"/v1/bridge?token={token}")) as agent:
            assert json.loads(await agent.recv())["type"] == "bridge.ready"
            await agent.send(json.dumps({"type": "bridge.end"}))
            await caller.next("session.ended")
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == 1000

    events = await gateway.events(call_id, lambda found: bool(of_type(found, "call.ended")))
    assert [e["reason"] for e in of_type(events, "call.ended")] == ["agent_ended"]
    completed = of_type(events, "handoff.completed")
    assert completed == [{"agent_id": "a-17", "target": "desk:a-17"}] * 2
    assert [f["reason"] for f in of_type(events, "handoff.failed")] == ["bridge_lost"]
    states = [s["state"] for s in of_type(events, "call.state_changed")]
    assert states[-4:] == ["on_hold", "with_human", "on_hold", "with_human"]
    applied = of_type(events, "control.applied")
    assert [(a["command"], a["ok"]) for a in applied] == [("handoff", True)]


async def test_the_caller_hanging_up_ends_the_bridge(gateway: Gateway) -> None:
    async with connect(gateway) as ws:
        caller = Caller(ws)
        call_id = await caller.ready()
        await gateway.command(Handoff(issued_by="desk:a-17", queue="billing"), call_id)
        control = gateway.ctx.calls[call_id]
        assert await wait_until(lambda: control.status.hold == "on_hold", 20)
        token = await _token(gateway, call_id)
        async with websockets.connect(gateway.url(f"/v1/bridge?token={token}")) as agent:
            assert json.loads(await agent.recv())["type"] == "bridge.ready"
            await ws.send(json.dumps({"type": "session.end"}))
            ended = json.loads(await asyncio.wait_for(agent.recv(), 5))
            assert ended == {"type": "bridge.ended", "reason": "client_ended"}
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(agent.recv(), 5)
            assert agent.close_code == 1000


async def test_a_malformed_command_goes_to_the_dead_letter_topic(gateway: Gateway) -> None:
    topic = gateway.kafka.topic("cc.call-control.v1")
    await gateway.producer.send_now(topic, key=b"sess_x", value=b"{not json")
    dlq = gateway.kafka.topic("cc.dlq.v1")
    records = await read_topic(gateway.kafka.bootstrap_servers, dlq, expect=1, timeout_s=20)
    assert len(records) == 1
    assert json.loads(records[0].value)["group"].endswith("-control")
