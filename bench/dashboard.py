"""The supervisor dashboard's live feed under load (``python -m bench.dashboard``, ``make bench``).

One real ``python -m services.analytics`` process; 100 live calls publish their events at a
realistic rate (a caller turn every ~3 s each: the caller's words, the agent's reply, turn
metrics, a sentiment score and two state changes); 5 dashboard clients are signed in on
``/v1/live/ws``. Printed: push latency from an event published to the changed row received by
a client (a call's start, then each caller turn: the row's ``turns`` count), p50/p95/p99 over
every client, and the analytics process's CPU % over the run (psutil).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import websockets

from infra.localstack.infrastructure import free_port, resolve
from shared.auth import hash_key, new_key
from shared.events import (
    CallEnded,
    CallStarted,
    CallStateChanged,
    EventPayload,
    SentimentScored,
    TranscriptAgent,
    TranscriptUser,
    TurnMetrics,
    new_event,
)
from shared.kafka.producer import BufferedProducer
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".switchboard" / "bench"
TOPIC = "cc.call-events.v1"
CALLS = 100
CLIENTS = 5
TURN_EVERY_S = 3.0
DURATION_S = 60.0
SUPERVISOR_KEY = new_key("supervisor")
SENTENCES = (
    "hi, I'd like to check on my order please",
    "it was supposed to arrive on tuesday",
    "my email is jamie.doe@example.com if that helps",
    "can you send me a return label",
    "no that's not right, the order number is 7731",
    "okay thank you, that's all",
)


class Latencies:
    """Publish times by (call, turns) and what the clients saw, in seconds."""

    def __init__(self) -> None:
        self.published: dict[tuple[str, int], float] = {}
        self.samples: list[float] = []

    def seen(self, seen: set[tuple[str, int]], rows: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        for row in rows:
            key = (row["call_id"], row["turns"])
            if key in seen or key not in self.published:
                continue
            seen.add(key)
            self.samples.append(now - self.published[key])


async def _client(url: str, latencies: Latencies, ready: asyncio.Event) -> None:
    seen: set[tuple[str, int]] = set()
    async with websockets.connect(url, open_timeout=10, max_size=None) as ws:
        await ws.send(json.dumps({"type": "auth", "key": SUPERVISOR_KEY}))
        ready.set()
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "calls":
                latencies.seen(seen, message["upserts"])
            elif message["type"] == "snapshot":
                latencies.seen(seen, message["calls"])


async def _call(
    producer: BufferedProducer, topic: str, n: int, latencies: Latencies, until: float
) -> None:
    call_id = f"sess_bench{n:03d}_{uuid.uuid4().hex[:6]}"
    rng = random.Random(n)

    def publish(payload: EventPayload) -> None:
        envelope = new_event(payload, call_id=call_id, source="bench", line_id="demo-retail")
        producer.publish(topic, envelope)

    await asyncio.sleep(rng.uniform(0, TURN_EVERY_S))
    latencies.published[(call_id, 0)] = time.monotonic()
    publish(CallStarted(channel="text", line_id="demo-retail"))
    turn = 0
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(0.8, 1.2) * TURN_EVERY_S)
        turn += 1
        latencies.published[(call_id, turn)] = time.monotonic()
        publish(TranscriptUser(item_id=f"i{turn}", text=rng.choice(SENTENCES)))
        publish(CallStateChanged(state="agent_speaking"))
        publish(TranscriptAgent(reply_id=f"r{turn}", text="let me look that up for you"))
        publish(TurnMetrics(turn=turn, stages_ms={"voice_to_voice": rng.uniform(600, 1400)}))
        publish(SentimentScored(item_id=f"i{turn}", score=rng.uniform(-0.6, 0.6)))
        publish(CallStateChanged(state="listening"))
    publish(CallEnded(reason="client_ended", duration_s=DURATION_S))


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    with (STATE / "logs" / "analytics-dashboard.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.analytics"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("analytics exited; see .switchboard/bench/logs")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("analytics not ready in 120 s")


async def _warm_up(url: str, producer: BufferedProducer, topic: str) -> None:
    """Publish probe calls until the live feed shows one (it reads from the newest offset)."""
    async with websockets.connect(url, open_timeout=10, max_size=None) as ws:
        await ws.send(json.dumps({"type": "auth", "key": SUPERVISOR_KEY}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            probe = f"sess_probe_{uuid.uuid4().hex[:6]}"
            producer.publish(
                topic,
                new_event(CallStarted(channel="text", line_id="b"), call_id=probe, source="b"),
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.5):
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "calls" and any(
                            r["call_id"] == probe for r in message["upserts"]
                        ):
                            return
        raise RuntimeError("the live feed never showed a call")


async def main() -> None:
    (STATE / "logs").mkdir(parents=True, exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=STATE, kafka_port=free_port(), database_name="switchboard_bench"
    )
    tag = uuid.uuid4().hex[:6]
    schema = f"bench_live_{tag}"
    kafka = KafkaSettings(
        KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=f"bd{tag}."
    )
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
        "DATABASE_URL": infra.database_url,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"bd{tag}:",
        "ANALYTICS_DB_SCHEMA": schema,
        "ANALYTICS_CONSUMER_GROUP": f"bench-{schema}",
        "ANALYTICS_PORT": str(port),
        "AUTH_KEY_HASHES": f"supervisor={hash_key(SUPERVISOR_KEY)}",
        "LOG_LEVEL": "WARNING",
    }
    producer = BufferedProducer(kafka, client_id="bench-dashboard")
    proc: subprocess.Popen[bytes] | None = None
    try:
        await ensure_topics(kafka, load_topic_specs())
        await producer.start()
        proc = await asyncio.to_thread(_start, env, port)
        await _run(f"ws://127.0.0.1:{port}/v1/live/ws", producer, kafka.topic(TOPIC), proc.pid)
    finally:
        await producer.close()
        if proc is not None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 30)
        dsn = infra.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        db = await asyncpg.connect(dsn, timeout=5)
        try:
            await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await db.close()
        infra.stop()


async def _run(url: str, producer: BufferedProducer, topic: str, pid: int) -> None:
    await _warm_up(url, producer, topic)
    latencies = Latencies()
    readies = [asyncio.Event() for _ in range(CLIENTS)]
    clients = [asyncio.create_task(_client(url, latencies, r)) for r in readies]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    process = psutil.Process(pid)
    process.cpu_percent(None)
    started = time.monotonic()
    until = started + DURATION_S
    await asyncio.gather(*(_call(producer, topic, n, latencies, until) for n in range(CALLS)))
    await asyncio.sleep(2)  # the last rows reach the clients
    cpu = process.cpu_percent(None)
    elapsed = time.monotonic() - started
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    samples = sorted(latencies.samples)
    q = statistics.quantiles(samples, n=100)
    expected = len(latencies.published) * CLIENTS
    print(f"dashboard live feed: {CALLS} calls, a turn every ~{TURN_EVERY_S:.0f} s each, "
          f"{CLIENTS} clients, {elapsed:.0f} s")  # fmt: skip
    print(f"  rows seen: {len(samples)} of {expected} (calls x turns x clients)")
    print(f"  push latency (published -> row received): p50 {q[49] * 1000:.0f} ms, "
          f"p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms")  # fmt: skip
    print(f"  analytics process CPU: {cpu:.0f} % of one core (average over the run)")


if __name__ == "__main__":
    asyncio.run(main())
