# ruff: noqa: F811  (pytest fixtures imported from tests.support.tools are parameters here)
"""The session service as a process over the real broker and Redis: a supervisor's takeover (a
``handoff`` naming a desk agent, on cc.call-control.v1) is offered to that agent alone; for an
agent who is not signed in, the handoff fails and the AI is told to go on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
import yaml

from infra.localstack.infrastructure import free_port
from shared.auth import hash_key
from shared.events import CallStarted, Envelope, EventPayload, Handoff, new_event
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings
from tests.conftest import Keys
from tests.support.processes import ServiceProcess, http_status
from tests.support.tools import Tail, producer  # noqa: F401 (fixture)

DESK_KEYS = {"sup": "sb_desk_sup-secret-for-tests", "alice": "sb_desk_alice-secret-for-tests"}


@pytest.fixture
def session(
    service_env: dict[str, str], unique: str, log_dir: Path, tmp_path: Path
) -> Iterator[ServiceProcess]:
    agents = tmp_path / "agents.yaml"
    agents.write_text(
        yaml.safe_dump(
            {
                "agents": [
                    {
                        "agent_id": "sup",
                        "name": "Sam Supervisor",
                        "queues": ["supervisors"],
                        "key_hash": hash_key(DESK_KEYS["sup"]),
                    },
                    {
                        "agent_id": "alice",
                        "name": "Alice",
                        "queues": ["retail-support"],
                        "key_hash": hash_key(DESK_KEYS["alice"]),
                    },
                ]
            }
        )
    )
    env = {
        **service_env,
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "SESSION_AGENTS_FILE": str(agents),
    }
    proc = ServiceProcess("session", free_port(), env, log_dir).start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


async def publish(
    producer: BufferedProducer,
    kafka: KafkaSettings,
    topic: str,
    call_id: str,
    payload: EventPayload,
) -> Envelope:
    event = new_event(payload, call_id=call_id, line_id="demo-retail", source="test")
    await producer.send_now(kafka.topic(topic), key=call_id.encode(), value=event.to_json())
    return event


async def start_call(
    session: ServiceProcess, producer: BufferedProducer, kafka: KafkaSettings, keys: Keys, call: str
) -> None:
    """A call the session registry knows, with its gateway's address."""
    started = CallStarted(
        channel="voice_agent",
        line_id="demo-retail",
        attributes={"gateway_url": "http://gw-a.internal:8080"},
    )
    await publish(producer, kafka, "cc.call-events.v1", call, started)
    headers = {"Authorization": f"Bearer {keys.supervisor}"}
    deadline = time.monotonic() + 15
    while http_status(f"{session.url}/v1/sessions/{call}", headers=headers) != 200:
        assert time.monotonic() < deadline, "the session registry never saw the call"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def desk(session: ServiceProcess, agent_id: str) -> AsyncIterator[Any]:
    """A signed-in, available desk."""
    url = f"ws://127.0.0.1:{session.port}/v1/desk/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "key": DESK_KEYS[agent_id]}))
        assert (await receive(ws, "hello"))["agent_id"] == agent_id
        await ws.send(json.dumps({"type": "status", "available": True}))
        assert (await receive(ws, "status"))["available"] is True
        yield ws


async def receive(ws: Any, kind: str, within_s: float = 10.0) -> dict[str, Any]:
    """The next message of type ``kind`` (others before it are skipped)."""
    async with asyncio.timeout(within_s):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return dict(message)


def takeover(agent_id: str, issued_by: str = "supervisor:0123456789ab") -> Handoff:
    return Handoff(
        issued_by=issued_by, queue="retail-support", say="Please hold.", agent_id=agent_id
    )


async def test_a_takeover_is_offered_to_that_agent_only_and_an_absent_one_resumes_the_ai(
    session: ServiceProcess,
    producer: BufferedProducer,
    kafka: KafkaSettings,
    keys: Keys,
    unique: str,
) -> None:
    taken, absent, ruled = f"take_{unique}", f"absent_{unique}", f"rule_{unique}"
    for call in (taken, absent, ruled):
        await start_call(session, producer, kafka, keys, call)
    events = Tail(kafka.bootstrap_servers, kafka.topic("cc.call-events.v1"))
    control = Tail(kafka.bootstrap_servers, kafka.topic("cc.call-control.v1"))
    async with events.running(), control.running(), desk(session, "alice") as alice:
        async with desk(session, "sup") as sup:
            # A handoff naming an agent but issued by a rule is the session's own: not a takeover.
            await publish(producer, kafka, "cc.call-control.v1", ruled, takeover("sup", "rule:x"))
            await publish(producer, kafka, "cc.call-control.v1", taken, takeover("sup"))
            offer = await receive(sup, "offer")
            assert offer["call_id"] == taken  # not the rule's call, published first
            assert offer["reasons"] == ["taken over by a supervisor"]
            # Alice holds the call's queue and is available, yet is offered nothing.
            with pytest.raises(TimeoutError):
                await receive(alice, "offer", within_s=1.0)
            await sup.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            assigned = await receive(sup, "assigned")
            assert assigned["bridge_url"].startswith("http://gw-a.internal:8080/v1/bridge?token=")

        await publish(producer, kafka, "cc.call-control.v1", absent, takeover("nobody"))

        def of(tail: Tail, call: str, kind: str) -> list[Envelope]:
            return [e for e in tail.envelopes() if e.call_id == call and e.type == kind]

        await events.wait_for(lambda: of(events, absent, "handoff.failed"), 15)
        await control.wait_for(lambda: of(control, absent, "resume_agent"), 15)
        assert of(events, absent, "handoff.failed")[0].payload["reason"] == "agent_unavailable"
        assert of(control, absent, "resume_agent")[0].payload["issued_by"].startswith("session:")
        assert of(events, taken, "escalation.assigned")[0].payload["agent_id"] == "sup"
        # The takeover that reached its agent, and the rule's handoff, were not failed.
        assert not of(events, taken, "handoff.failed") and not of(events, ruled, "handoff.failed")
        with pytest.raises(TimeoutError):
            await receive(alice, "offer", within_s=0.3)
