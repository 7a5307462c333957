"""The voice pipeline end to end: WAV callers over the Voice Agent API, real models."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
import websockets

from services.gateway.adapters.model_files import whisper_base_dir
from services.gateway.adapters.speech_models import WhisperTranscriber
from tests.support.metrics import scrape, total
from tests.support.processes import ServiceProcess, module_gateway
from tests.support.voice_client import VoiceCaller, espeak, librivox, resample, wer

LONG_GREETING = (
    "Hello and thank you for calling Acme Outfitters customer support. "
    "I can help you track an order, start a return, cancel an order that has not shipped yet, "
    "or change a delivery address. Please tell me what you need, in a few words."
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, infra, keys) -> Iterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    yield from module_gateway(tmp_path_factory, infra, keys, GATEWAY_VOICE="embedded")


@pytest.fixture(scope="module")
def whisper() -> WhisperTranscriber:
    return WhisperTranscriber(whisper_base_dir(), beam_size=5)


async def connect(gateway: ServiceProcess, key: str, session: dict) -> AsyncIterator[VoiceCaller]:  # type: ignore[type-arg]
    url = f"ws://127.0.0.1:{gateway.port}/v1/ws"
    headers = {"Authorization": f"Bearer {key}"}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        caller = VoiceCaller(
            ws, session.get("input", {}).get("format", {}).get("encoding", "audio/pcm")
        )
        await ws.send(json.dumps({"type": "session.update", "session": session}))
        await caller.wait_for("session.ready")
        yield caller
        await caller.close()


def transcribe_reply(whisper: WhisperTranscriber, caller: VoiceCaller, reply_id: str) -> str:
    pcm = resample(caller.reply_pcm(reply_id), caller.wire.sample_rate, 16_000)
    return whisper.transcribe(pcm.astype(np.float32) / 32768)


@pytest.mark.slow
@pytest.mark.parametrize(("clip", "encoding"), [("0870", "audio/pcm"), ("0890", "audio/pcmu")])
async def test_a_recorded_caller_is_transcribed_and_answered_in_speech(
    gateway, keys, whisper, clip: str, encoding: str
) -> None:
    pcm, rate, script = librivox(clip)
    session = {
        "input": {"format": {"encoding": encoding}},
        "output": {"format": {"encoding": encoding}},
    }
    async for caller in connect(gateway, keys.gateway, session):
        await caller.say(pcm, rate, silence_after_ms=1500)
        heard = await caller.wait_for("transcript.user", within_s=30)
        assert wer(script, heard["text"]) <= 0.10, (script, heard["text"])
        deltas = [
            f for f in caller.log.of("transcript.user.delta") if f["item_id"] == heard["item_id"]
        ]
        assert deltas, "no live transcript deltas"
        assert caller.log.of("input.speech.started") and caller.log.of("input.speech.stopped")
        # The greeting came first (reply 1); the answer to the caller is reply 2.
        answer = await caller.wait_for("transcript.agent", count=2, within_s=30)
        done = await caller.wait_for("reply.done", count=2)
        assert done["status"] == "completed" and done["reply_id"] == answer["reply_id"]
        spoken = await asyncio.to_thread(transcribe_reply, whisper, caller, answer["reply_id"])
        assert wer(answer["text"], spoken) <= 0.15, (answer["text"], spoken)


@pytest.mark.slow
async def test_barge_in_stops_the_reply_and_trims_its_transcript(gateway, keys) -> None:
    pcm, rate, _ = librivox("0920")
    async for caller in connect(gateway, keys.gateway, {"greeting": LONG_GREETING}):
        started = await caller.wait_for("reply.started")
        await asyncio.sleep(2.0)  # the caller lets the agent talk for a moment, then cuts in
        await caller.say(pcm, rate, silence_after_ms=1500)
        done = await caller.wait_for("reply.done")
        agent = await caller.wait_for("transcript.agent")
        assert done == {
            "type": "reply.done",
            "status": "interrupted",
            "reply_id": started["reply_id"],
        }
        assert agent["interrupted"] is True
        heard_words = agent["text"].split()
        assert 3 <= len(heard_words) < len(LONG_GREETING.split()) // 2
        assert LONG_GREETING.startswith(" ".join(heard_words[:3]))
        # The caller's turn is still answered.
        await caller.wait_for("transcript.user", within_s=30)


@pytest.mark.slow
async def test_a_backchannel_does_not_interrupt(gateway, keys) -> None:
    okay, rate = espeak("okay")
    async for caller in connect(gateway, keys.gateway, {"greeting": LONG_GREETING}):
        await caller.wait_for("reply.started")
        await asyncio.sleep(2.0)
        await caller.say(okay, rate, silence_after_ms=500)
        done = await caller.wait_for("reply.done", within_s=40)
        assert done["status"] == "completed"
        agent = await caller.wait_for("transcript.agent")
        assert agent["interrupted"] is False and agent["text"] == LONG_GREETING
        assert caller.log.of("transcript.user") == []  # "okay" was not a turn


@pytest.mark.slow
async def test_reply_cancel_stops_the_spoken_reply(gateway, keys) -> None:
    async for caller in connect(gateway, keys.gateway, {"greeting": LONG_GREETING}):
        started = await caller.wait_for("reply.started")
        await caller.wait_for("transcript.agent.delta")  # the first sentence has played
        await caller.ws.send(json.dumps({"type": "reply.cancel", "reply_id": started["reply_id"]}))
        done = await caller.wait_for("reply.done")
        agent = await caller.wait_for("transcript.agent")
        assert done["status"] == "interrupted" and agent["interrupted"] is True
        assert LONG_GREETING.startswith(agent["text"]) and len(agent["text"]) < len(LONG_GREETING)


@pytest.mark.slow
async def test_ending_the_call_mid_reply_keeps_what_was_said(gateway, keys) -> None:
    async for caller in connect(gateway, keys.gateway, {"greeting": LONG_GREETING}):
        await caller.wait_for("transcript.agent.delta")  # a sentence has played
        await caller.ws.send(json.dumps({"type": "session.end"}))
        await caller.wait_for("session.ended")
        kinds = [f["type"] for f in caller.log.frames]
        assert kinds.index("transcript.agent") < kinds.index("session.ended")
        agent = caller.log.of("transcript.agent")[0]
        assert agent["interrupted"] is True and LONG_GREETING.startswith(agent["text"])
        assert agent["text"]


@pytest.mark.slow
async def test_a_voice_turn_is_timed_stage_by_stage_on_metrics(gateway, keys) -> None:
    stages = ("end_of_turn", "stt", "tts_first_audio", "voice_to_voice")

    def counts() -> dict[str, float]:
        samples = scrape(gateway)
        return {s: total(samples, "switchboard_turn_stage_seconds_count", stage=s) for s in stages}

    before = await asyncio.to_thread(counts)
    words, rate = espeak("I would like to check on my order please")
    async for caller in connect(gateway, keys.gateway, {}):
        await caller.wait_for("reply.done")  # the greeting
        await caller.say(words, rate, silence_after_ms=1500)
        await caller.wait_for("transcript.user", within_s=30)
        await caller.wait_for("reply.done", count=2, within_s=30)
    after = await asyncio.to_thread(counts)

    # Each answered turn times every speech stage once (the greeting answers no turn, so it is
    # not timed). With no model provider here, llm_first_token is not measured.
    grown = {after[s] - before[s] for s in stages}
    assert len(grown) == 1 and grown.pop() >= 1, (before, after)
