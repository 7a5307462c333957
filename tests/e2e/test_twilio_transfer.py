"""Phone calls at the edges, across real processes (gateway with no-op models, session service,
a local fake of Twilio's REST API): who may call in and stream, what malformed streams get, and
the transfer out. A caller presses 0, the session service's rule escalates, the gateway says the
hold message and redirects the call through the REST API to ``<Dial>`` the line's number; when
Twilio refuses, the caller stays on hold for the desk."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import websockets
import yaml

from infra.localstack.infrastructure import Infrastructure, free_port
from shared.auth import hash_key
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings
from tests.conftest import REPO, Keys
from tests.e2e.test_handoff import DESK_KEY, Desk
from tests.support.calls import rms, tone
from tests.support.fake_twilio_api import UNAUTHORIZED, FakeTwilioApi
from tests.support.processes import QUICK_STOP, ServiceProcess, running
from tests.support.tools import Tail
from tests.support.twilio_line import (
    ACCOUNT,
    TOKEN,
    answered,
    call_ids,
    events_of,
    incoming,
    on_the_phone,
    stream_of,
    webhook,
)
from tests.support.twilio_phone import SimulatedTwilioCall, mulaw_decode, recording

DIAL = "+14155550199"
DESK_NUMBER = "+18005550101"


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi(auth_token=TOKEN) as api:
        yield api


@pytest.fixture(scope="module")
async def kafka(infra: Infrastructure) -> KafkaSettings:
    """One topic prefix for the module: its tests share one stack, and tell calls apart by SID."""
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap,
        KAFKA_TOPIC_PREFIX=f"t{uuid.uuid4().hex[:10]}.",
        KAFKA_REQUEST_TIMEOUT_S=2.0,
    )
    await ensure_topics(settings, load_topic_specs())
    return settings


@pytest.fixture(scope="module")
def stack(
    infra: Infrastructure,
    keys: Keys,
    kafka: KafkaSettings,
    tmp_path_factory: pytest.TempPathFactory,
    twilio_api: FakeTwilioApi,
) -> Iterator[dict[str, ServiceProcess]]:
    """Gateway (no-op models) and session service, shared by the module's tests."""
    unique = uuid.uuid4().hex[:10]
    root = tmp_path_factory.mktemp("twilio") / "config"
    shutil.copytree(REPO / "config" / "lines", root / "lines")
    shutil.copytree(REPO / "config" / "tools", root / "tools")
    path = root / "lines" / "demo-retail.yaml"
    line = yaml.safe_load(path.read_text())
    line["handoff"] = {"dial": DIAL, "hold_message": "Transferring you now."}
    path.write_text(yaml.safe_dump(line))
    # A second number whose line bridges to the agent desk (no dial).
    desk_line = {**line, "line_id": "demo-desk", "phone_numbers": [DESK_NUMBER]}
    del desk_line["handoff"]
    (root / "lines" / "demo-desk.yaml").write_text(yaml.safe_dump(desk_line))
    shutil.copy(REPO / "config" / "agents.yaml", root / "agents.yaml")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"t{unique}:",
        "AUTH_KEY_HASHES": keys.hashes,
        "GATEWAY_ID": f"gw-{unique}",
        "LOG_FORMAT": "json",
        "LINES_DIR": str(root / "lines"),
        "GATEWAY_VOICE": "echo",
        **QUICK_STOP,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_API_URL": twilio_api.base_url,
        "TWILIO_TRANSFER_TIMEOUT_S": "2",
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "SESSION_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}",
        "SESSION_AGENTS_FILE": str(root / "agents.yaml"),
        "DESK_KEY_HASH": hash_key(DESK_KEY),
    }
    logs = root.parent / "logs"
    logs.mkdir()
    names = ("gateway", "session")
    procs = {name: ServiceProcess(name, free_port(), env, logs) for name in names}
    with running(procs):
        yield procs


async def test_pressing_zero_transfers_the_phone_call_to_the_lines_number(
    stack: dict[str, ServiceProcess], kafka: KafkaSettings, twilio_api: FakeTwilioApi
) -> None:
    call_sid = "CA" + "2" * 32
    async with on_the_phone(stack["gateway"], kafka, call_sid) as (tail, phone, call_id):
        await phone.press("0")
        await tail.wait_for(lambda: events_of(tail, call_id, "handoff.completed"), 30)
        [request] = twilio_api.requests(call_sid)
        assert request.auth_ok and request.account_sid == ACCOUNT and request.twiml
        dial = ET.fromstring(request.twiml).find("Dial")
        assert dial is not None and (dial.text or "").strip() == DIAL
        completed = events_of(tail, call_id, "handoff.completed")[0]
        assert completed == {"agent_id": "external", "target": f"dial:{DIAL}"}
        escalation = events_of(tail, call_id, "escalation.requested")[0]
        assert escalation["rule_id"] == "dtmf-zero"
        held = [e["state"] for e in events_of(tail, call_id, "call.state_changed")]
        assert held[-2:] == ["on_hold", "with_human"]
        # Twilio moves the call to the <Dial>: the stream stops, the AI's part of the call ends.
        await phone.hang_up()
        await tail.wait_for(lambda: events_of(tail, call_id, "call.ended"), 20)
        assert events_of(tail, call_id, "call.ended")[0]["reason"] == "transferred"


async def test_when_twilio_refuses_the_transfer_the_caller_holds_for_the_desk(
    stack: dict[str, ServiceProcess], kafka: KafkaSettings, twilio_api: FakeTwilioApi
) -> None:
    call_sid = "CA" + "3" * 32
    twilio_api.script(UNAUTHORIZED, call_sid=call_sid)
    async with on_the_phone(stack["gateway"], kafka, call_sid) as (tail, phone, call_id):
        await phone.press("0")
        await tail.wait_for(lambda: events_of(tail, call_id, "handoff.failed"), 30)
        assert events_of(tail, call_id, "handoff.failed")[0]["reason"] == "transfer_unauthorized"
        assert len(twilio_api.requests(call_sid)) == 1  # a refusal is not retried
        states = [e["state"] for e in events_of(tail, call_id, "call.state_changed")]
        assert states[-1] == "on_hold" and "with_human" not in states
        assert not events_of(tail, call_id, "handoff.completed")
        assert not phone.closed.is_set()  # still on the line, waiting for a person


async def test_a_phone_call_is_bridged_to_a_desk_agent_both_ways(
    stack: dict[str, ServiceProcess], kafka: KafkaSettings
) -> None:
    call_sid = "CA" + "8" * 32
    desk_url = f"ws://127.0.0.1:{stack['session'].port}/v1/desk/ws"
    topic = kafka.topic("cc.call-events.v1")
    async with (
        Tail(kafka.bootstrap_servers, topic).running() as tail,
        websockets.connect(desk_url) as desk_ws,
    ):
        desk = Desk(desk_ws)
        await desk_ws.send(json.dumps({"type": "auth", "key": DESK_KEY}))
        await desk.next("hello")
        await desk_ws.send(json.dumps({"type": "status", "available": True}))
        url, parameters = answered(stack["gateway"], call_sid, to=DESK_NUMBER)
        async with SimulatedTwilioCall.connect(
            url, custom_parameters=parameters, call_sid=call_sid, account_sid=ACCOUNT
        ) as phone:
            await tail.wait_for(lambda: call_ids(tail, call_sid), 20)
            call_id = call_ids(tail, call_sid)[0]
            await phone.press("0")
            offer = await desk.next("offer")
            assert offer["call_id"] == call_id
            await desk_ws.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"]}))
            assigned = await desk.next("assigned")
            async with websockets.connect(assigned["bridge_url"]) as agent:
                ready = json.loads(await asyncio.wait_for(agent.recv(), 10))
                assert ready["type"] == "bridge.ready"
                # Agent -> phone: PCM16 24 kHz in, mu-law media frames out, energy kept.
                before = len(phone.played_audio())
                for chunk in np.array_split(tone(1.0, 24_000), 20):
                    await agent.send(chunk.astype("<i2").tobytes())
                await phone.wait_for(lambda: len(phone.played_audio()) - before >= 6000, 10)
                played = mulaw_decode(phone.played_audio()[before:])
                assert rms(played) > 3000
                # Phone -> agent: mu-law in, PCM16 24 kHz out.
                speaking = asyncio.create_task(phone.speak(recording(tone(0.6, 8000), 8000)))
                heard = b""
                async with asyncio.timeout(10):
                    while rms(np.frombuffer(heard[-9600:], dtype="<i2")) < 3000:
                        data = await agent.recv()
                        if isinstance(data, bytes):
                            heard += data
                await speaking
                await agent.send(json.dumps({"type": "bridge.end"}))
                await asyncio.wait_for(phone.closed.wait(), 10)
                assert phone.closed_by_server
        await tail.wait_for(lambda: events_of(tail, call_id, "call.ended"), 20)
    assert events_of(tail, call_id, "call.ended")[0]["reason"] == "agent_ended"
    completed = events_of(tail, call_id, "handoff.completed")
    assert completed and completed[0]["agent_id"] == "demo-agent"


async def test_only_twilio_signed_webhooks_are_answered(stack: dict[str, ServiceProcess]) -> None:
    gateway = stack["gateway"]
    params = incoming("CA" + "4" * 32)
    assert webhook(gateway, params, signed=False)[0] == 403
    assert webhook(gateway, params, token="another-accounts-token")[0] == 403
    status, twiml = webhook(gateway, incoming("CA" + "4" * 32, to="+19995550000"))
    assert status == 200 and [c.tag for c in ET.fromstring(twiml)] == ["Say", "Hangup"]
    status, twiml = webhook(gateway, params)
    url, parameters = stream_of(twiml)
    assert status == 200 and url == f"ws://127.0.0.1:{gateway.port}/twilio/media"
    assert parameters["line"] == "demo-retail" and len(parameters["secret"]) >= 40


async def test_a_stream_without_its_calls_secret_is_closed(
    stack: dict[str, ServiceProcess], kafka: KafkaSettings
) -> None:
    gateway = stack["gateway"]
    call_sid = "CA" + "5" * 32
    url, parameters = answered(gateway, call_sid)
    forged = {**parameters, "secret": "not-the-secret"}
    other_call = "CA" + "6" * 32
    refused = [(forged, call_sid), ({"line": "demo-retail"}, call_sid), (parameters, other_call)]
    for custom, sid in refused:
        async with SimulatedTwilioCall.connect(
            url, custom_parameters=custom, call_sid=sid
        ) as phone:
            await asyncio.wait_for(phone.closed.wait(), 15)
            assert phone.close_code == 1008
    # The grant was spent on the stream for the other call sid: the right one cannot reuse it.
    async with SimulatedTwilioCall.connect(
        url, custom_parameters=parameters, call_sid=call_sid, account_sid=ACCOUNT
    ) as phone:
        await asyncio.wait_for(phone.closed.wait(), 15)
        assert phone.close_code == 1008
    # A fresh answer streams, and the same secret a second time is refused.
    url, parameters = answered(gateway, call_sid)
    async with SimulatedTwilioCall.connect(
        url, custom_parameters=parameters, call_sid=call_sid, account_sid=ACCOUNT
    ) as phone:
        await asyncio.sleep(1.0)
        assert not phone.closed.is_set()
        async with SimulatedTwilioCall.connect(
            url, custom_parameters=parameters, call_sid=call_sid, account_sid=ACCOUNT
        ) as again:
            await asyncio.wait_for(again.closed.wait(), 15)
            assert again.close_code == 1008


async def test_a_stream_of_garbage_is_skipped_then_closed(
    stack: dict[str, ServiceProcess], kafka: KafkaSettings
) -> None:
    call_sid = "CA" + "7" * 32
    url, parameters = answered(stack["gateway"], call_sid)
    start = {
        "event": "start",
        "sequenceNumber": "1",
        "streamSid": "MZ" + "7" * 32,
        "start": {
            "streamSid": "MZ" + "7" * 32,
            "accountSid": ACCOUNT,
            "callSid": call_sid,
            "customParameters": parameters,
        },
    }
    topic = kafka.topic("cc.call-events.v1")
    async with (
        Tail(kafka.bootstrap_servers, topic).running() as tail,
        websockets.connect(url) as ws,
    ):
        await ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        await ws.send(json.dumps(start))
        await tail.wait_for(lambda: call_ids(tail, call_sid), 20)
        call_id = call_ids(tail, call_sid)[0]
        garbage: list[Any] = ["{", "[]", {"event": "media", "media": {"payload": "%%"}}]
        for i in range(49):
            item = garbage[i % len(garbage)]
            await ws.send(item if isinstance(item, str) else json.dumps(item))
        await ws.send(json.dumps({"event": "dtmf", "dtmf": {"digit": "5"}}))  # still served
        await tail.wait_for(lambda: events_of(tail, call_id, "dtmf.received"), 20)
        for _ in range(50):
            await ws.send("not json")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(15):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1007
        await tail.wait_for(lambda: events_of(tail, call_id, "call.ended"), 20)
        assert events_of(tail, call_id, "call.ended")[0]["reason"] == "protocol_error"
