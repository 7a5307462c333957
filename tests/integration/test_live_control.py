"""A supervisor's controls against the real analytics process, broker and Postgres: each request
puts its command on ``cc.call-control.v1`` with the supervisor's key fingerprint; keys, roles,
unknown calls and bad bodies are refused."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from infra.localstack.infrastructure import Infrastructure, free_port
from services.analytics.entrypoints import live_control
from shared.auth import KeyRing, key_fingerprint
from shared.events import CallEnded, CallStarted, Envelope, new_event
from shared.http.app import install_keyring
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.lines import load_lines
from shared.settings import KafkaSettings
from tests.conftest import Keys, drop_schema
from tests.support.processes import ServiceProcess
from tests.support.tools import Tail

LINE = "demo-retail"


@dataclass
class Stack:
    analytics: ServiceProcess
    kafka: KafkaSettings
    producer: BufferedProducer
    tail: Tail

    async def publish(self, envelope: Envelope) -> None:
        await self.producer.send_now(
            self.kafka.topic("cc.call-events.v1"),
            key=envelope.call_id.encode(),
            value=envelope.to_json(),
        )

    def post(self, call_id: str, action: str, key: str | None, body: Any) -> tuple[int, Any]:
        return _post(f"{self.analytics.url}/v1/live/calls/{call_id}/{action}", key, body)

    async def live_call(self, key: str) -> str:
        """A call that has started (so it is live) and that the analytics service knows."""
        call_id = f"call-{uuid.uuid4().hex[:12]}"
        started = CallStarted(channel="voice_agent", line_id=LINE)
        await self.publish(new_event(started, call_id=call_id, line_id=LINE, source="gw-test"))
        deadline = time.monotonic() + 15
        # Until the call log holds the call, a control request is a 404; then it is accepted.
        while (status := self.post(call_id, "whisper", key, {"text": "ping"})[0]) == 404:
            assert time.monotonic() < deadline, "the started call never became live"
            await asyncio.sleep(0.2)
        assert status == 202
        return call_id


def _post(url: str, key: str | None, body: Any) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def tag() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def analytics(
    infra: Infrastructure, keys: Keys, tag: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": f"t{tag}.",
        "KAFKA_REQUEST_TIMEOUT_S": "2",
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"t{tag}:",
        "ANALYTICS_DB_SCHEMA": f"t_{tag}",
        "ANALYTICS_CONSUMER_GROUP": f"analytics-{tag}",
        "AUTH_KEY_HASHES": keys.hashes,
        "LOG_FORMAT": "json",
    }
    settings = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"t{tag}."
    )
    asyncio.run(ensure_topics(settings, load_topic_specs()))
    logs: Path = tmp_path_factory.mktemp("logs")
    proc = ServiceProcess("analytics", free_port(), env, logs).start()
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        proc.stop()
        asyncio.run(drop_schema(infra.database_url, f"t_{tag}"))


@pytest.fixture
async def stack(analytics: ServiceProcess, infra: Infrastructure, tag: str) -> AsyncIterator[Stack]:
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"t{tag}."
    )
    producer = BufferedProducer(kafka, client_id="test-gateway")
    await producer.start()
    tail = Tail(infra.kafka_bootstrap, kafka.topic("cc.call-control.v1"))
    try:
        async with tail.running():
            yield Stack(analytics, kafka, producer, tail)
    finally:
        await producer.close()


async def test_each_control_puts_its_command_on_the_bus_issued_by_the_supervisor(
    stack: Stack, keys: Keys
) -> None:
    call_id = await stack.live_call(keys.supervisor)
    issuer = f"supervisor:{key_fingerprint(keys.supervisor)}"
    answers = [
        stack.post(call_id, "whisper", keys.supervisor, {"text": "Offer the 10% voucher."}),
        stack.post(call_id, "takeover", keys.supervisor, {"agent_id": "sup.ana-1"}),
        stack.post(call_id, "end", keys.admin, {"say": "Goodbye."}),
        stack.post(call_id, "end", keys.supervisor, None),
    ]
    assert [status for status, _ in answers] == [202] * 4
    ids = [body["command_id"] for _, body in answers]

    def mine() -> dict[str, Envelope]:
        return {str(e.event_id): e for e in stack.tail.envelopes() if str(e.event_id) in ids}

    await stack.tail.wait_for(lambda: len(mine()) == 4, 10)
    whisper, takeover, end_said, end_plain = (mine()[i] for i in ids)
    for envelope in (whisper, takeover, end_said, end_plain):
        assert envelope.call_id == call_id and envelope.line_id == LINE
        assert envelope.source == "analytics"
    assert (whisper.type, whisper.payload["text"]) == ("whisper", "Offer the 10% voucher.")
    assert whisper.payload["issued_by"] == issuer
    # The takeover holds the caller with the line's own queue and hold message, for one agent.
    assert (takeover.type, takeover.version) == ("handoff", 2)
    assert takeover.payload["agent_id"] == "sup.ana-1"
    assert takeover.payload["queue"] == "retail-support"
    assert takeover.payload["say"] and takeover.payload["dial"] is None
    assert takeover.payload["issued_by"] == issuer
    assert end_said.type == "hangup" and end_said.payload["say"] == "Goodbye."
    assert end_said.payload["issued_by"] == f"supervisor:{key_fingerprint(keys.admin)}"
    assert end_plain.payload["say"] is None and end_plain.payload["reason"] == "supervisor_ended"
    # Keyed by the call id: every command of a call lands on one partition, in order.
    records = [r for r in stack.tail.records if r.key == call_id.encode()]
    assert len({r.partition for r in records}) == 1


async def test_keys_roles_unknown_calls_and_bad_bodies_are_refused(
    stack: Stack, keys: Keys
) -> None:
    call_id = await stack.live_call(keys.supervisor)
    # The accepted ping that found the call live is on the bus; nothing after it may be.
    await stack.tail.wait_for(lambda: any(e.call_id == call_id for e in stack.tail.envelopes()), 5)
    before = len(stack.tail.records)
    text = {"text": "hello"}
    assert stack.post(call_id, "whisper", None, text)[0] == 401
    assert stack.post(call_id, "whisper", "sb_supervisor_unknown", text)[0] == 401
    assert stack.post(call_id, "whisper", keys.analyst, text)[0] == 403
    assert stack.post(call_id, "takeover", keys.gateway, {"agent_id": "a"})[0] == 403
    assert stack.post("call-never-started", "whisper", keys.supervisor, text)[0] == 404
    for action, body in (
        ("whisper", {}),
        ("whisper", {"text": ""}),
        ("whisper", {"text": "   "}),
        ("whisper", {"text": "x" * 1_001}),
        ("takeover", {}),
        ("takeover", {"agent_id": "bad id"}),
        ("takeover", {"agent_id": "a" * 101}),
        ("end", {"say": "x" * 1_001}),
        ("end", {"reason": "unknown field"}),
    ):
        assert stack.post(call_id, action, keys.supervisor, body)[0] == 422, (action, body)
    assert stack.post("c" * 201, "end", keys.supervisor, None)[0] == 422
    await asyncio.sleep(0.5)
    # None of the refused requests put anything on the bus.
    assert len(stack.tail.records) == before
    # An ended call is no longer live.
    ended = CallEnded(reason="caller_hangup", duration_s=3.0)
    await stack.publish(new_event(ended, call_id=call_id, line_id=LINE, source="gw-test"))
    deadline = time.monotonic() + 15
    while stack.post(call_id, "end", keys.supervisor, None)[0] != 404:
        assert time.monotonic() < deadline, "the ended call stayed live"
        await asyncio.sleep(0.2)


class _AlwaysLive:
    def line_of(self, call_id: str) -> str | None:
        return LINE


def test_an_unreachable_broker_answers_503(keys: Keys) -> None:
    dead = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}", KAFKA_REQUEST_TIMEOUT_S=1.0
    )
    app = FastAPI()
    install_keyring(app, KeyRing.from_spec(keys.hashes))
    app.state.live_calls = _AlwaysLive()
    app.state.control = live_control.ControlDeps(
        producer=BufferedProducer(dead, client_id="test-dead"),
        topic="cc.call-control.v1",
        lines=load_lines(),
    )
    app.include_router(live_control.router)
    with TestClient(app) as client:
        answer = client.post(
            "/v1/live/calls/c1/whisper",
            json={"text": "hello"},
            headers={"Authorization": f"Bearer {keys.supervisor}"},
        )
    assert answer.status_code == 503
