"""The live dashboard feed of a real analytics process, against the real broker and Postgres.

One analytics process serves the module (its own topic prefix and schema); call events are
published as the gateway publishes them and a dashboard client reads ``/v1/live/ws``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import websockets

from infra.localstack.infrastructure import Infrastructure, TansuBroker, free_port
from services.analytics.adapters.kafka_live_feed import KafkaLiveFeed
from shared.events import (
    CallStarted,
    EscalationRequested,
    EventPayload,
    TranscriptUser,
    new_event,
)
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings
from tests.conftest import Keys, drop_schema
from tests.support.processes import ServiceProcess, http_status
from tests.support.waiting import wait_until

EMAIL = "rosalind.ferreira@example.org"
PHONE = "(415) 555-0187"
Message = dict[str, Any]


@dataclass
class Live:
    analytics: ServiceProcess
    producer: BufferedProducer
    kafka: KafkaSettings
    dsn: str
    schema: str
    env: dict[str, str]
    log_dir: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.analytics.port}/v1/live/ws"

    def publish(self, call_id: str, payload: EventPayload) -> None:
        envelope = new_event(payload, call_id=call_id, source="gateway-test", line_id="demo-retail")
        assert self.producer.publish(self.kafka.topic("cc.call-events.v1"), envelope)


def _start(env: dict[str, str], log_dir: Path) -> ServiceProcess:
    analytics = ServiceProcess("analytics", free_port(), env, log_dir).start()
    analytics.wait_ready(90)
    return analytics


@pytest.fixture(scope="module")
async def live(
    infra: Infrastructure, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Live]:
    unique = uuid.uuid4().hex[:10]
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"l{unique}."
    )
    await ensure_topics(kafka, load_topic_specs())
    schema = f"t_{unique}"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"l{unique}:",
        "ANALYTICS_DB_SCHEMA": schema,
        "ANALYTICS_CONSUMER_GROUP": f"analytics-{unique}",
        "AUTH_KEY_HASHES": keys.hashes,
        "LOG_FORMAT": "json",
    }
    producer = BufferedProducer(kafka, client_id="live-test")
    await producer.start()
    dsn = infra.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    log_dir = tmp_path_factory.mktemp("logs")
    live = Live(_start(env, log_dir), producer, kafka, dsn, schema, env, log_dir)
    try:
        await _feed_is_live(live, keys.supervisor)
        yield live
    finally:
        # SIGKILL: the restarted process may still be joining its consumer group, which a
        # graceful stop would wait out (the restart test stops the first one gracefully).
        live.analytics.kill()
        await producer.close()
        await drop_schema(infra.database_url, schema)


async def _feed_is_live(live: Live, key: str) -> None:
    """The feed reads from the newest offset once its consumer is up: publish probe calls until
    one shows, so the tests' own events come after it."""
    async with _signed_in(live, key) as ws:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            probe = f"sess_probe_{uuid.uuid4().hex[:8]}"
            live.publish(probe, CallStarted(channel="text", line_id="demo-retail"))
            try:
                await _next(ws, lambda m, p=probe: _upserted(m, p), timeout_s=1.5)
                return
            except TimeoutError:
                continue
        raise AssertionError(f"the live feed never showed a call:\n{live.analytics.log_tail()}")


@contextlib.asynccontextmanager
async def _signed_in(live: Live, key: str) -> AsyncIterator[Any]:
    """A dashboard client signed in with ``key``; its snapshot is ``ws.snapshot``."""
    async with websockets.connect(live.ws_url, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "key": key}))
        ws.snapshot = await _next(ws, lambda m: m["type"] == "snapshot", timeout_s=10)  # type: ignore[attr-defined]
        yield ws


async def _next(ws: Any, predicate: Callable[[Message], Any], timeout_s: float) -> Message:
    """The next message matching ``predicate`` (others are skipped); TimeoutError if none."""
    async with asyncio.timeout(timeout_s):
        while True:
            message: Message = json.loads(await ws.recv())
            if predicate(message):
                return message


def _upserted(message: Message, call_id: str) -> Message | None:
    if message["type"] != "calls":
        return None
    return next((r for r in message["upserts"] if r["call_id"] == call_id), None)


async def _closed_with(live: Live, first: str) -> tuple[int, str]:
    async with websockets.connect(live.ws_url, open_timeout=10) as ws:
        await ws.send(first)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def _whoami(live: Live, key: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = urllib.request.Request(f"{live.analytics.url}/v1/live/whoami", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


async def test_a_live_call_shows_within_a_second_redacted_with_alerts_and_kpis(
    live: Live, keys: Keys
) -> None:
    call_id = f"sess_live_{uuid.uuid4().hex[:8]}"
    async with _signed_in(live, keys.supervisor) as ws:
        assert ws.snapshot["kpis"]["window_s"] == 3600
        assert len(ws.snapshot["kpis"]["series"]) == 60
        published = time.monotonic()
        live.publish(call_id, CallStarted(channel="text", line_id="demo-retail"))
        message = await _next(ws, lambda m: _upserted(m, call_id), timeout_s=1.0)
        assert time.monotonic() - published < 1.0
        row = _upserted(message, call_id)
        assert row is not None and row["line_id"] == "demo-retail" and row["ended"] is False

        await ws.send(json.dumps({"type": "watch", "call_id": call_id}))
        timeline = await _next(ws, lambda m: m["type"] == "call", timeout_s=5)
        assert timeline["call"]["call_id"] == call_id and timeline["items"] == []
        said = f"my email is {EMAIL} and my number is {PHONE}"
        live.publish(call_id, TranscriptUser(item_id="i1", text=said))
        items = await _next(
            ws, lambda m: m["type"] == "items" and m["call_id"] == call_id, timeout_s=5
        )
        (item,) = items["items"]
        assert item["id"] == "user:i1" and item["kind"] == "user"
        assert "rosalind" not in item["text"].lower() and "0187" not in item["text"]
        assert item["text"].startswith("my email is ")

        live.publish(
            call_id,
            EscalationRequested(rule_id="asked_for_person", reasons=["asked for a person"]),
        )
        alert = await _next(ws, lambda m: m["type"] == "alert", timeout_s=5)
        assert alert["alert"]["call_id"] == call_id and alert["alert"]["kind"] == "escalation"
        assert alert["alert"]["rule_id"] == "asked_for_person"

        # The call log stores the calls (its own consumer group); the KPIs count them.
        kpis = await _next(
            ws, lambda m: m["type"] == "kpis" and m["kpis"]["calls"] >= 2, timeout_s=30
        )
        assert kpis["kpis"]["active_calls"] >= 2


async def test_keys_and_frames_are_checked(live: Live, keys: Keys) -> None:
    assert await _closed_with(live, json.dumps({"type": "auth", "key": keys.analyst})) == (
        1008,
        "forbidden",
    )
    assert await _closed_with(live, json.dumps({"type": "auth", "key": "sb_wrong"})) == (
        1008,
        "unauthorized",
    )
    assert await _closed_with(live, json.dumps({"type": "watch", "call_id": "x"})) == (
        1008,
        "unauthorized",
    )
    assert (await _closed_with(live, "x" * 5000))[0] == 1009
    assert _whoami(live, keys.supervisor) == (200, {"roles": ["supervisor"], "live": True})
    assert _whoami(live, keys.analyst) == (200, {"roles": ["analyst"], "live": False})
    assert _whoami(live, "sb_wrong")[0] == 401
    assert _whoami(live, None)[0] == 401


def _answers(live: Live) -> bool:
    return http_status(f"{live.analytics.url}/healthz") == 200


async def _stored(live: Live, call_id: str) -> bool:
    conn = await asyncpg.connect(live.dsn, timeout=5)
    try:
        try:
            turns = await conn.fetchval(
                f'SELECT count(*) FROM "{live.schema}".turns WHERE call_id = $1', call_id
            )
            started = await conn.fetchval(
                f'SELECT started_at FROM "{live.schema}".calls WHERE call_id = $1', call_id
            )
        except asyncpg.UndefinedTableError:
            return False
        return bool(turns) and started is not None
    finally:
        await conn.close()


async def test_a_restarted_process_still_shows_the_open_calls(live: Live, keys: Keys) -> None:
    call_id = f"sess_open_{uuid.uuid4().hex[:8]}"
    live.publish(call_id, CallStarted(channel="text", line_id="demo-retail"))
    live.publish(call_id, TranscriptUser(item_id="i1", text=f"write to {EMAIL}"))
    assert await wait_until(lambda: _stored(live, call_id), 30, interval_s=0.3)
    live.analytics.stop()
    # Not /readyz: that waits for the call-log consumer to rejoin its group, which the live
    # view does not need. The app answers once its start-up (the bootstrap) is done.
    live.analytics = ServiceProcess("analytics", free_port(), live.env, live.log_dir).start()
    assert await wait_until(lambda: _answers(live), 60, interval_s=0.2), live.analytics.log_tail()
    async with _signed_in(live, keys.supervisor) as ws:
        rows = {r["call_id"]: r for r in ws.snapshot["calls"]}
        assert call_id in rows and rows[call_id]["turns"] == 1
        await ws.send(json.dumps({"type": "watch", "call_id": call_id}))
        timeline = await _next(ws, lambda m: m["type"] == "call", timeout_s=5)
        (item,) = [i for i in timeline["items"] if i["kind"] == "user"]
        assert "rosalind" not in item["text"].lower()


async def test_the_feed_waits_for_a_broker_that_is_away_and_reads_once_it_is_back(
    tmp_path: Path,
) -> None:
    port = free_port()
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
        KAFKA_TOPIC_PREFIX=f"o{uuid.uuid4().hex[:8]}.",
        KAFKA_REQUEST_TIMEOUT_S=1.0,
    )
    seen: list[str] = []

    async def show(events: list[tuple[Any, Any]]) -> None:
        seen.extend(envelope.call_id for envelope, _ in events)

    feed = KafkaLiveFeed(kafka, "cc.call-events.v1", show)
    running = asyncio.create_task(feed.run())
    broker = TansuBroker(port=port, log_path=tmp_path / "tansu.log")
    try:
        await asyncio.sleep(2)
        assert not running.done() and not feed.running  # no broker: retrying, not raising
        broker.start()
        await ensure_topics(kafka, load_topic_specs())
        assert await wait_until(lambda: feed.running, 20)
        producer = BufferedProducer(kafka, client_id="outage-test")
        await producer.start()
        try:
            call_id = "sess_after_outage"
            topic = kafka.topic("cc.call-events.v1")
            deadline = time.monotonic() + 20
            # The feed reads from the newest offset: publish until one lands after it attached.
            while call_id not in seen and time.monotonic() < deadline:
                started = CallStarted(channel="text", line_id="x")
                assert producer.publish(topic, new_event(started, call_id=call_id, source="t"))
                await asyncio.sleep(1)
            assert call_id in seen
        finally:
            await producer.close()
    finally:
        feed.stop()
        await asyncio.wait_for(running, 15)
        broker.stop()
