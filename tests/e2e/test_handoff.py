"""Escalation to a person across the real processes (gateway, session, analytics, tools):
a caller asks for a person, the session service escalates with its evidence, the gateway holds
the call, a desk agent is offered it with the redacted transcript, accepts, and audio flows both
ways through the gateway; with no agent free, the caller gets a callback ticket and a polite
goodbye."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import websockets
import yaml

from infra.localstack.infrastructure import free_port
from services.tools.seed.loader import seed_crm
from shared.auth import hash_key
from shared.settings import KafkaSettings, PostgresSettings
from tests.conftest import REPO, Keys
from tests.support.calls import Caller, rms, tone
from tests.support.processes import ServiceProcess, running
from tests.support.tools import Tail

DESK_KEY = "sb_desk_e2e-test-key-0123456789abcdefghijklmnopqrstuv"
EMAIL = "jane.doe@example.com"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The repo's config plus ``demo-busy``: the demo line with a 2 s maximum wait."""
    root = tmp_path / "config"
    shutil.copytree(REPO / "config" / "lines", root / "lines")
    shutil.copytree(REPO / "config" / "tools", root / "tools")
    shutil.copy(REPO / "config" / "agents.yaml", root / "agents.yaml")
    busy = yaml.safe_load((root / "lines" / "demo-retail.yaml").read_text())
    busy["line_id"] = "demo-busy"
    busy.pop("phone_numbers", None)  # a number answers for one line only
    busy["human_queue"] = "busy-support"  # no agent holds this queue
    busy["handoff"] = {"max_wait_s": 2, "offer_timeout_s": 2}
    (root / "lines" / "demo-busy.yaml").write_text(yaml.safe_dump(busy))
    return root


@pytest.fixture
async def stack(
    service_env: dict[str, str],
    log_dir: Path,
    config_dir: Path,
    keys: Keys,
    unique: str,
    postgres: PostgresSettings,
    crm_schema: str,
) -> Iterator[dict[str, ServiceProcess]]:
    await seed_crm(postgres, crm_schema, customers=50, orders=200, now=datetime.now(UTC))
    env = {
        **service_env,
        "LINES_DIR": str(config_dir / "lines"),
        "GATEWAY_VOICE": "echo",
        "TOOLS_DB_SCHEMA": crm_schema,
        "TOOLS_CONSUMER_GROUP": f"tools-{unique}",
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "SESSION_AGENTS_FILE": str(config_dir / "agents.yaml"),
        "DESK_KEY_HASH": hash_key(DESK_KEY),
    }
    analytics = ServiceProcess("analytics", free_port(), env, log_dir)
    env["SESSION_ANALYTICS_URL"] = analytics.url
    env["SESSION_ANALYTICS_KEY"] = keys.analyst
    procs = {
        "analytics": analytics,
        **{
            n: ServiceProcess(n, free_port(), env, log_dir) for n in ("gateway", "session", "tools")
        },
    }
    with running(procs):
        yield procs


class Desk:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def next(self, wanted: str, timeout_s: float = 30) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                message = json.loads(await self.ws.recv())
                if message["type"] == wanted:
                    return message  # type: ignore[no-any-return]


def metrics_of(proc: ServiceProcess) -> str:
    with urllib.request.urlopen(f"{proc.url}/metrics", timeout=5) as response:
        return str(response.read().decode())


def gateway_ws(stack: dict[str, ServiceProcess], keys: Keys) -> Any:
    url = f"ws://127.0.0.1:{stack['gateway'].port}/v1/ws"
    return websockets.connect(url, additional_headers={"Authorization": f"Bearer {keys.gateway}"})


async def test_a_caller_who_asks_for_a_person_is_bridged_to_a_desk_agent(
    stack: dict[str, ServiceProcess], keys: Keys, kafka: KafkaSettings
) -> None:
    desk_url = f"ws://127.0.0.1:{stack['session'].port}/v1/desk/ws"
    events = Tail(kafka.bootstrap_servers, kafka.topic("cc.call-events.v1"))
    async with events.running(), websockets.connect(desk_url) as desk_ws:
        desk = Desk(desk_ws)
        await desk_ws.send(json.dumps({"type": "auth", "key": DESK_KEY}))
        hello = await desk.next("hello")
        assert hello["agent_id"] == "demo-agent" and hello["queues"] == ["retail-support"]
        await desk_ws.send(json.dumps({"type": "status", "available": True}))

        async with gateway_ws(stack, keys) as ws:
            caller = Caller(ws)
            await ws.send(json.dumps({"type": "session.update", "session": {}}))
            call_id = (await caller.next("session.ready"))["session_id"]
            await caller.next("transcript.agent")  # the greeting
            await caller.say(f"hi, my parcel never came and my email is {EMAIL}")
            await caller.say("this is going nowhere, I want to talk to a real person")
            hold = await caller.next("transcript.agent", 30)
            assert "hold" in hold["text"].lower()

            offer = await desk.next("offer")
            assert offer["call_id"] == call_id and offer["queue"] == "retail-support"
            assert offer["reasons"] and offer["evidence"]
            shown = json.dumps(offer)
            assert EMAIL not in shown and "jane" not in shown.lower()  # redacted for the agent
            assert any(t["role"] == "caller" for t in offer["transcript"])
            await desk_ws.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            assigned = await desk.next("assigned")
            assert assigned["call_id"] == call_id
            assert assigned["bridge_url"].startswith(f"ws://127.0.0.1:{stack['gateway'].port}/")

            async with websockets.connect(assigned["bridge_url"]) as agent:
                ready = json.loads(await asyncio.wait_for(agent.recv(), 10))
                assert ready["type"] == "bridge.ready" and ready["call_id"] == call_id
                # Caller -> agent: PCM16 24 kHz both sides, energy preserved.
                for chunk in np.array_split(tone(0.5, 24_000), 10):
                    audio = base64.b64encode(chunk.astype("<i2").tobytes()).decode()
                    await ws.send(json.dumps({"type": "input.audio", "audio": audio}))
                heard = b""
                async with asyncio.timeout(10):
                    while len(heard) < 0.4 * 24_000 * 2:
                        data = await agent.recv()
                        if isinstance(data, bytes):
                            heard += data
                assert rms(np.frombuffer(heard, dtype="<i2")) > 3000
                # Agent -> caller.
                for chunk in np.array_split(tone(0.5, 24_000), 10):
                    await agent.send(chunk.astype("<i2").tobytes())
                got = b""
                async with asyncio.timeout(10):
                    while len(got) < 0.4 * 24_000 * 2:
                        frame = await caller.next("reply.audio")
                        got += base64.b64decode(frame["data"])
                assert rms(np.frombuffer(got, dtype="<i2")) > 3000
                await agent.send(json.dumps({"type": "bridge.end"}))
                await caller.next("session.ended")

        await events.wait_for(
            lambda: any(
                e.call_id == call_id and e.type == "call.ended" for e in events.envelopes()
            ),
            20,
        )
    mine = [e for e in events.envelopes() if e.call_id == call_id]
    requested = [e.payload for e in mine if e.type == "escalation.requested"]
    assert len(requested) == 1
    assert requested[0]["rule_id"] == "asked-for-person"
    assert requested[0]["queue"] == "retail-support"
    assert requested[0]["evidence"][0]["signal"] == "asked_for_person"
    assert requested[0]["evidence"][0]["item_ids"]
    assert "real person" not in json.dumps(requested[0])  # evidence points, never quotes
    assert [e.payload["agent_id"] for e in mine if e.type == "escalation.assigned"] == [
        "demo-agent"
    ]
    assert [e.payload["agent_id"] for e in mine if e.type == "handoff.completed"] == ["demo-agent"]
    assert [e.payload["reason"] for e in mine if e.type == "call.ended"] == ["agent_ended"]
    states = [e.payload["state"] for e in mine if e.type == "call.state_changed"]
    assert "on_hold" in states and states.index("with_human") > states.index("on_hold")
    # Every user turn was scored.
    assert len([e for e in mine if e.type == "sentiment.scored"]) >= 2
    metrics = await asyncio.to_thread(metrics_of, stack["session"])
    assert 'switchboard_escalations_total{rule="asked-for-person"} 1.0' in metrics


async def test_with_no_agent_free_the_caller_gets_a_callback_and_a_polite_goodbye(
    stack: dict[str, ServiceProcess], keys: Keys, kafka: KafkaSettings
) -> None:
    results = Tail(kafka.bootstrap_servers, kafka.topic("cc.tool-results.v1"))
    events = Tail(kafka.bootstrap_servers, kafka.topic("cc.call-events.v1"))
    async with results.running(), events.running(), gateway_ws(stack, keys) as ws:
        caller = Caller(ws)
        await ws.send(json.dumps({"type": "session.update", "session": {"agent_id": "demo-busy"}}))
        call_id = (await caller.next("session.ready"))["session_id"]
        await caller.next("transcript.agent")
        await caller.say("can I speak to a human please")
        texts = []
        async with asyncio.timeout(30):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "transcript.agent":
                    texts.append(frame["text"])
                if frame["type"] == "session.ended":
                    break
        assert any("call you back" in t for t in texts), texts
        await results.wait_for(
            lambda: any(p["name"] == "create_ticket" for p in results.payloads("tool.completed")),
            30,
        )
        await events.wait_for(
            lambda: any(
                e.call_id == call_id and e.type == "handoff.failed" for e in events.envelopes()
            ),
            20,
        )
    ticket = next(p for p in results.payloads("tool.completed") if p["name"] == "create_ticket")
    assert ticket["status"] == "ok" and ticket["result"]["ticket_id"]
    mine = [e for e in events.envelopes() if e.call_id == call_id]
    assert [e.payload["reason"] for e in mine if e.type == "handoff.failed"] == [
        "no_agent_available"
    ]
