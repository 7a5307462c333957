"""Voice-to-voice latency with the embedded models (``make bench``).

A gateway process (Whisper base for final transcripts, tiny.en for deltas, Piper) answers the
five LibriVox recordings, each streamed at real time from a WAV file. Voice-to-voice is measured
by the caller: from the last audio sample of its speech to the first byte of the reply's audio.
The gateway's own per-stage figures come from the ``turn.metrics`` events it publishes.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import websockets
from aiokafka import AIOKafkaConsumer

from infra.localstack.infrastructure import free_port, resolve
from shared.auth import hash_key, new_key
from shared.kafka.topics import ensure_topics, load_topic_specs
from shared.settings import KafkaSettings
from tests.support.processes import ServiceProcess
from tests.support.voice_client import VoiceCaller, librivox, resample

STATE = Path(__file__).resolve().parents[1] / ".switchboard" / "bench"
CLIPS = ("0870", "0880", "0890", "0920", "0930")


async def one_call(url: str, key: str, clip: str) -> float:
    pcm, rate, _ = librivox(clip)
    headers = {"Authorization": f"Bearer {key}"}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        caller = VoiceCaller(ws)
        # No greeting: the first reply is the answer whose latency is measured.
        await ws.send(json.dumps({"type": "session.update", "session": {"greeting": ""}}))
        await caller.wait_for("session.ready")
        audio = resample(pcm, rate, 24_000)
        await caller.say(audio, 24_000)
        speech_end = time.monotonic()
        silence = np.zeros(1200, dtype=np.int16)
        first_audio = None
        for _ in range(200):  # keep the microphone open (silence) until the answer starts
            answer = caller.log.of("reply.started")
            if answer and caller.log.audio.get(answer[-1]["reply_id"]):
                first_audio = time.monotonic()
                break
            await caller.say(silence, 24_000)
        await ws.send(json.dumps({"type": "session.end"}))
        await caller.close()
    if first_audio is None:
        raise RuntimeError(f"no answer to clip {clip}")
    return (first_audio - speech_end) * 1000


async def stage_metrics(bootstrap: str, topic: str, expect: int) -> list[dict[str, float]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, float]] = []
    try:
        deadline = time.monotonic() + 20
        while len(found) < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    event = json.loads(record.value)
                    if event["type"] == "turn.metrics":
                        found.append(event["payload"]["stages_ms"])
    finally:
        await consumer.stop()
    return found


def _pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def main() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "logs").mkdir(exist_ok=True)
    infra = await asyncio.to_thread(
        resolve, state_dir=STATE, kafka_port=free_port(), database_name="switchboard_bench"
    )
    key = new_key("gateway")
    prefix = f"bv{uuid.uuid4().hex[:6]}."
    kafka = KafkaSettings(KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap, KAFKA_TOPIC_PREFIX=prefix)
    await ensure_topics(kafka, load_topic_specs())
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "REDIS_URL": infra.redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "AUTH_KEY_HASHES": f"gateway={hash_key(key)}",
        "GATEWAY_VOICE": "embedded",
        "GATEWAY_STT_MODEL": os.environ.get("GATEWAY_STT_MODEL", "base"),
    }
    gateway = ServiceProcess("gateway", free_port(), env, STATE / "logs").start()
    try:
        await asyncio.to_thread(gateway.wait_ready, 120)
        url = f"ws://127.0.0.1:{gateway.port}/v1/ws"
        await one_call(url, key, CLIPS[1])  # warm-up
        measured = [await one_call(url, key, clip) for clip in CLIPS for _ in range(2)]
        stages = await stage_metrics(
            infra.kafka_bootstrap, kafka.topic("cc.call-events.v1"), len(measured) + 1
        )
    finally:
        gateway.stop()
        infra.stop()
    print(f"voice ({len(measured)} turns, STT final model {env['GATEWAY_STT_MODEL']})")
    print(
        f"  caller-measured voice_to_voice   p50 {statistics.median(measured):7.0f} ms"
        f"   p95 {_pct(measured, 95):7.0f} ms"
    )
    for stage in ("end_of_turn", "stt", "tts_first_audio", "voice_to_voice"):
        values = [s[stage] for s in stages[1:] if stage in s]  # skip the warm-up turn
        if values:
            print(
                f"  gateway {stage:24} p50 {statistics.median(values):7.0f} ms"
                f"   p95 {_pct(values, 95):7.0f} ms"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main())
