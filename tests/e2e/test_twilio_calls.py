"""Phone calls end to end: a simulated Twilio (written from the documented protocol) calls the
real gateway with its speech models, the tools service and analytics. The signed webhook
answers TwiML; the media stream carries a mu-law caller who barges in on the greeting (Twilio
gets ``clear``), asks about an order (a real tool call), hears the answer (marks echoed),
presses 0, says goodbye and is hung up on once the goodbye has played; analytics stores the call
as ``twilio`` with the caller's number redacted."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from infra.localstack.infrastructure import free_port
from services.gateway.adapters.speech_models import PiperSynthesizer
from services.gateway.pipeline.inference import synthesize_all
from services.tools.seed.loader import seed_crm
from shared.settings import KafkaSettings, PostgresSettings
from tests.conftest import REPO, Keys
from tests.support.processes import ServiceProcess, running
from tests.support.tools import Tail
from tests.support.twilio_line import (
    CALLER,
    TOKEN,
    events_of,
    on_the_phone,
)
from tests.support.twilio_phone import SimulatedTwilioCall, recording

LONG_GREETING = (
    "Hello and thank you for calling Acme Outfitters customer support. "
    "I can help you track an order, start a return, cancel an order that has not shipped yet, "
    "or change a delivery address. Please tell me what you need, in a few words."
)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The repo's config, the demo line with a long greeting (room to barge in)."""
    root = tmp_path / "config"
    shutil.copytree(REPO / "config" / "lines", root / "lines")
    shutil.copytree(REPO / "config" / "tools", root / "tools")
    path = root / "lines" / "demo-retail.yaml"
    line = yaml.safe_load(path.read_text())
    line["greeting"] = LONG_GREETING
    path.write_text(yaml.safe_dump(line))
    return root


@pytest.fixture
async def stack(
    service_env: dict[str, str],
    log_dir: Path,
    config_dir: Path,
    unique: str,
    postgres: PostgresSettings,
    crm_schema: str,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    await seed_crm(postgres, crm_schema, customers=300, orders=1500, now=datetime.now(UTC))
    env = {
        **service_env,
        "LINES_DIR": str(config_dir / "lines"),
        "GATEWAY_VOICE": "embedded",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TOOLS_DB_SCHEMA": crm_schema,
        "TOOLS_CONSUMER_GROUP": f"tools-{unique}",
    }
    names = ("gateway", "tools", "analytics")
    procs = {name: ServiceProcess(name, free_port(), env, log_dir) for name in names}
    with running(procs):
        yield procs


@pytest.fixture(scope="module")
def voice() -> PiperSynthesizer:
    """The caller's voice: espeak's formants do not survive 8 kHz mu-law well enough for a
    recogniser to get order numbers right; a neural voice's do, as a person's would."""
    return PiperSynthesizer()


def said(voice: PiperSynthesizer, text: str) -> bytes:
    pcm = synthesize_all(voice, text)
    return recording(pcm, voice.sample_rate) + b"\xff" * 8000  # then a second of silence


async def stored_call(analytics: ServiceProcess, key: str, call_id: str) -> dict[str, Any]:
    """The call as analytics stores it, once its end is stored (polled: another process)."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=analytics.url, headers=headers, timeout=5) as http:
        for _ in range(60):
            response = await http.get(f"/v1/calls/{call_id}")
            if response.status_code == 200 and response.json().get("end_reason"):
                call: dict[str, Any] = response.json()
                return call
            await asyncio.sleep(0.5)
    raise AssertionError("analytics did not store the call's end within 30 s")


@pytest.mark.slow
async def test_a_phone_call_is_heard_answered_with_a_tool_and_stored(
    stack: dict[str, ServiceProcess], kafka: KafkaSettings, keys: Keys, voice: PiperSynthesizer
) -> None:
    call_sid = "CA" + "1" * 32
    async with on_the_phone(stack["gateway"], kafka, call_sid) as (tail, phone, call_id):
        started = events_of(tail, call_id, "call.started")[0]
        assert started["channel"] == "twilio" and started["caller"] == CALLER

        # The greeting plays: media in order, each chunk followed by a mark Twilio echoes.
        await phone.wait_for(lambda: len(phone.record.marks) >= 10, 30)
        greeting_id = phone.record.marks[0].name.rpartition(":")[0]
        assert phone.received("media") and phone.received("mark")

        # The caller cuts in: Twilio is told to clear, the greeting is trimmed to what played.
        await asyncio.sleep(1.0)
        await phone.speak(said(voice, "Where is my order O R D seven seven three one five?"))
        await phone.wait_for("clear", 20)
        await tail.wait_for(lambda: events_of(tail, call_id, "interruption"), 20)
        cut = [
            t for t in events_of(tail, call_id, "transcript.agent") if t["reply_id"] == greeting_id
        ]
        assert cut and cut[0]["interrupted"] is True
        heard = cut[0]["text"].split()
        assert 2 <= len(heard) < len(LONG_GREETING.split())
        assert LONG_GREETING.startswith(" ".join(heard[:2]))
        heard_ms = max(m for name, m in _marks(phone, greeting_id))
        played = events_of(tail, call_id, "interruption")[0]["played_ms"]
        assert played <= heard_ms  # never more than the caller's phone confirmed

        # The question is transcribed, the tool runs, the answer plays out to its last mark.
        try:
            await tail.wait_for(lambda: events_of(tail, call_id, "tool.result"), 40)
        except TimeoutError:
            seen = [(e.type, e.payload) for e in tail.envelopes() if e.call_id == call_id]
            raise AssertionError(seen) from None
        user = events_of(tail, call_id, "transcript.user")
        assert user and "order" in user[0]["text"].lower()
        tool = events_of(tail, call_id, "tool.call")[0]
        assert tool["name"] == "order_status" and tool["arguments"] == {"order_id": "ORD-77315"}
        assert events_of(tail, call_id, "tool.result")[0]["status"] == "ok"
        await tail.wait_for(lambda: _answers(tail, call_id), 40)
        answer = _answers(tail, call_id)[0]
        assert "seven seven three one five" in answer["text"]
        assert max(m for _, m in _marks(phone, answer["reply_id"])) > 1000

        # A key press is an event for the rules (0 asks for a person).
        await phone.press("0")
        await tail.wait_for(lambda: events_of(tail, call_id, "dtmf.received"), 20)
        assert events_of(tail, call_id, "dtmf.received")[0]["digit"] == "0"

        # Goodbye: it plays to its last mark, then the gateway hangs up.
        await phone.speak(said(voice, "Thank you, goodbye."))
        await asyncio.wait_for(phone.closed.wait(), 60)
        assert phone.closed_by_server and phone.close_code == 1000
        await tail.wait_for(lambda: events_of(tail, call_id, "call.ended"), 20)
        assert events_of(tail, call_id, "call.ended")[0]["reason"] == "completed"
        agent = events_of(tail, call_id, "transcript.agent")
        goodbye = [t for t in agent if "Goodbye" in t["text"]]
        assert goodbye and goodbye[-1]["interrupted"] is False
        last_mark = phone.record.marks[-1]
        assert last_mark.name.startswith(goodbye[-1]["reply_id"]) and not last_mark.by_clear

    # Analytics stores the phone call, the caller's number redacted.
    stored = await stored_call(stack["analytics"], keys.analyst, call_id)
    assert stored["channel"] == "twilio" and stored["end_reason"] == "completed"
    assert "555" not in str(stored["caller"]) and CALLER not in json.dumps(stored)


def _marks(phone: SimulatedTwilioCall, reply_id: str) -> list[tuple[str, int]]:
    out = []
    for mark in phone.record.marks:
        name, _, ms = mark.name.rpartition(":")
        if name == reply_id and not mark.by_clear:
            out.append((name, int(ms)))
    return out


def _answers(tail: Tail, call_id: str) -> list[dict[str, Any]]:
    return [
        t
        for t in events_of(tail, call_id, "transcript.agent")
        if "seven seven three one five" in t["text"] and not t["interrupted"]
    ]
