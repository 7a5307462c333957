"""How many concurrent sessions one gateway process holds (``make bench``; GATEWAY_VOICE=echo):
Voice Agent API sessions, then phone calls over Twilio Media Streams (``bench.phone``).

Each session sends 20 ms frames of 24 kHz PCM16 in real time; the gateway, with its models
replaced by no-op processors, sends every frame back as ``reply.audio``. A level of load passes
while the echo latency (a frame's send to its return) p99 stays under 20 ms and at least 99 %
of the frames sent come back. Output jitter alone would hide sessions falling behind, so these
two are the judges. The same load client can drive any server speaking the Voice Agent API.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

FRAME_MS = 20
FRAME_BYTES = 24_000 * 2 * FRAME_MS // 1000  # 960
HEADER = 9  # session (4) + sequence (4) + pad (1): a multiple of 3, so base64 concatenates
TAIL = base64.b64encode(bytes(FRAME_BYTES - HEADER)).decode()
LEVELS = [
    int(n)
    for n in os.environ.get(
        "ECHO_LEVELS", "20,30,40,50,60,80,100,110,120,130,140,150,175,200"
    ).split(",")
]
LEVEL_S = float(os.environ.get("ECHO_LEVEL_S", "8"))
P99_LIMIT_MS = 20.0
STATE = Path(__file__).resolve().parents[1] / ".switchboard" / "bench"
DELIVERED_MIN = 0.99


@dataclass
class Stats:
    sent: dict[tuple[int, int], float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    received: int = 0

    def returned(self, session: int, seq: int, measuring: list[bool]) -> None:
        sent = self.sent.pop((session, seq), None)
        if sent is not None and measuring[0]:
            self.latencies.append((time.perf_counter() - sent) * 1000)
            self.received += 1


def frame(session: int, seq: int) -> str:
    head = base64.b64encode(struct.pack(">IIx", session, seq)).decode()
    return json.dumps({"type": "input.audio", "audio": head + TAIL})


Opened = tuple[Any, "asyncio.Task[None]"]
# Opens session ``index``: its socket and the task reading it (which records returned frames).
Opener = Callable[[int, Stats, list[bool]], Awaitable[Opened]]


async def open_session(url: str, key: str, index: int, stats: Stats, measuring: list[bool]):  # type: ignore[no-untyped-def]
    ws = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"})
    await ws.send(json.dumps({"type": "session.update", "session": {}}))

    async def read() -> None:
        async for raw in ws:
            if '"reply.audio"' not in raw[:40]:
                continue
            data = json.loads(raw)["data"]
            session, seq = struct.unpack(">II", base64.b64decode(data[:12])[:8])
            stats.returned(session, seq, measuring)

    return ws, asyncio.create_task(read())


async def run_level(
    sessions: int, opener: Opener, make_frame: Callable[[int, int], str]
) -> tuple[float, float]:
    stats = Stats()
    measuring = [False]
    opened = [await opener(i, stats, measuring) for i in range(sessions)]
    await asyncio.sleep(1.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    seq = 0
    sent_measured = 0
    warmup_ticks = int(1000 / FRAME_MS)
    total_ticks = warmup_ticks + int(LEVEL_S * 1000 / FRAME_MS)
    while seq < total_ticks:
        measuring[0] = seq >= warmup_ticks
        for index, (ws, _) in enumerate(opened):
            stats.sent[(index, seq)] = time.perf_counter()
            await ws.send(make_frame(index, seq))
            if measuring[0]:
                sent_measured += 1
        seq += 1
        await asyncio.sleep(max(0.0, start + seq * FRAME_MS / 1000 - loop.time()))
    await asyncio.sleep(0.5)  # stragglers
    for ws, reader in opened:
        reader.cancel()
        await ws.close()
    latencies = sorted(stats.latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("inf")
    return p99, stats.received / max(1, sent_measured)


async def capacity(
    label: str, opener: Opener, make_frame: Callable[[int, int], str] = frame
) -> int:
    held = 0
    print(f"echo capacity: {label}")
    for level in LEVELS:
        p99, delivered = await run_level(level, opener, make_frame)
        ok = p99 < P99_LIMIT_MS and delivered >= DELIVERED_MIN
        print(
            f"  {level:4} sessions  echo p99 {p99:7.1f} ms  delivered {delivered:6.3f}  "
            f"{'ok' if ok else 'over the limit'}"
        )
        if not ok:
            break
        held = level
    print(f"  held: {held} sessions")
    return held


def api_opener(url: str, key: str) -> Opener:
    return lambda index, stats, measuring: open_session(url, key, index, stats, measuring)


@contextlib.asynccontextmanager
async def gateway_stack(voice: str, **env: str) -> AsyncIterator[tuple[Any, str]]:
    """One gateway process (``GATEWAY_VOICE=voice``) on the bench's infrastructure: the
    process (a ``ServiceProcess``) and a gateway key, once it is ready."""
    from bench.phone import PHONE_TOKEN
    from infra.localstack.infrastructure import free_port, resolve
    from shared.auth import hash_key, new_key
    from shared.kafka.topics import ensure_topics, load_topic_specs
    from shared.settings import KafkaSettings
    from tests.support.processes import ServiceProcess

    state = STATE
    (state / "logs").mkdir(parents=True, exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=state, kafka_port=free_port(), database_name="switchboard_bench"
    )
    # Every topic the gateway reads (tool results, call control) exists before it starts.
    await ensure_topics(
        KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap), load_topic_specs()
    )
    key = new_key("gateway")
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": f"bench-{voice}:",
        "AUTH_KEY_HASHES": f"gateway={hash_key(key)}",
        "GATEWAY_VOICE": voice,
        "GATEWAY_MAX_SESSIONS": "1000",
        "GATEWAY_MAX_SESSIONS_PER_KEY": "1000",
        "TWILIO_AUTH_TOKEN": PHONE_TOKEN,
        "LOG_LEVEL": "WARNING",
        **env,
    }
    gateway = ServiceProcess("gateway", free_port(), settings, state / "logs").start()
    try:
        await asyncio.to_thread(gateway.wait_ready, 60)
        yield gateway, key
    finally:
        gateway.stop()
        infra.stop()


async def main() -> None:
    from bench.phone import phone_capacity

    async with gateway_stack("echo") as (gateway, key):
        url = f"ws://127.0.0.1:{gateway.port}/v1/ws"
        ours = await capacity("Switchboard gateway", api_opener(url, key))
        # The same process holding phone calls (Twilio Media Streams, mu-law 8 kHz).
        await phone_capacity(gateway)
    theirs = await pipecat_capacity()
    if theirs:
        print(f"  ratio Switchboard / Pipecat: {ours / theirs:.1f}x")


async def pipecat_capacity() -> int | None:
    """The same load against Pipecat's echo server, when its bench virtualenv exists."""
    from infra.localstack.infrastructure import free_port, wait_for_port

    python = STATE / "pipecat-venv" / "bin" / "python"
    if not python.exists():
        print("echo capacity: Pipecat skipped (no .switchboard/bench/pipecat-venv; make bench)")
        return None
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        str(python),
        str(Path(__file__).with_name("pipecat_echo.py")),
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        if not await asyncio.to_thread(wait_for_port, "127.0.0.1", port, 60):
            raise RuntimeError("the Pipecat echo server did not start")
        label = "Pipecat 1.14 FastAPI WebSocket transport, echo pipeline, defaults"
        return await capacity(label, api_opener(f"ws://127.0.0.1:{port}/v1/ws", "unused"))
    finally:
        server.terminate()
        await server.wait()


if __name__ == "__main__":
    asyncio.run(main())
