# ruff: noqa: F811  (the spans fixture imported from tests.support.tracing is a parameter here)
"""How a call's connection traces its turns: a spoken turn's recogniser timings start its trace,
a typed turn in a voice call has none, and each event goes out with the turn's context."""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.gateway.dialogue.service import DialogueService
from services.gateway.domain.actions import Publish
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.entrypoints.connection import CallConnection
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.entrypoints.turn_trace import DIALOGUE
from services.gateway.entrypoints.voice import VoiceChannel
from services.gateway.pipeline.listener import TurnEnded
from services.gateway.settings import GatewaySettings
from shared.auth import KeyRing
from shared.events import Envelope, TranscriptUser, TurnMetrics
from shared.lines import load_lines
from shared.telemetry.tracing import extract_context, inject_headers
from tests.support.fakes import FakeSessionStore, FakeTokenStore
from tests.support.tracing import named, of_trace, spans  # noqa: F401 (fixture)


class Recorder:
    """The event publisher: what went out, and the trace context its headers carried."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, trace.SpanContext]] = []

    def publish(self, topic: str, event: Envelope) -> bool:
        carried = trace.get_current_span(extract_context(inject_headers()))
        self.sent.append((event.type, carried.get_span_context()))
        return True


def connection(recorder: Recorder) -> CallConnection:
    lines = load_lines()
    ctx = GatewayContext(
        settings=GatewaySettings(),
        keyring=KeyRing.from_spec(""),
        lines=lines,
        events=recorder,
        sessions=FakeSessionStore(),
        tokens=FakeTokenStore(),
        dialogue=DialogueService(llm=None, tool_client=None),  # type: ignore[arg-type]
        phone_grants=None,  # type: ignore[arg-type]
    )
    session = VoiceSession(
        session_id=new_session_id(), line=lines["demo-retail"], started_at=0,
        max_session_s=3600, max_frame_bytes=65536,
    )  # fmt: skip
    return CallConnection(None, ctx, session, "owner")  # type: ignore[arg-type]


def listening(turn: TurnEnded | None) -> Any:
    """A voice channel that has just detected ``turn`` (nothing else of it is used here)."""
    voice = VoiceChannel.__new__(VoiceChannel)
    voice._turn = turn
    return voice


def detected(item_id: str) -> TurnEnded:
    return TurnEnded(
        item_id=item_id, text="", started_ms=0, ended_ms=900, stt_ms=180.0,
        end_of_turn_ms=400, speech_end_at=time.monotonic() - 0.7,
    )  # fmt: skip


def test_a_spoken_turn_starts_at_the_last_word_and_ends_with_its_first_audio(
    spans: InMemorySpanExporter,
) -> None:
    recorder = Recorder()
    conn = connection(recorder)
    conn.voice = listening(detected("item_7"))
    conn.session.turns = 1

    conn._publish(Publish(TranscriptUser(item_id="item_7", text="where is my order")))
    root = conn.turn_trace.span
    assert root is not None
    conn.turn_trace.done(DIALOGUE)
    stages = {"tts_first_audio": 80.0, "voice_to_voice": 1300.0}
    conn._publish(Publish(TurnMetrics(turn=1, stages_ms=stages)))

    found = of_trace(spans, root.get_span_context().trace_id)
    (turn,) = named(found, "turn")  # ended: the dialogue was done and the audio came
    assert {s.name for s in found} == {"turn", "end_of_turn", "stt", "tts_first_audio"}
    assert [kind for kind, _ in recorder.sent] == ["transcript.user", "turn.metrics"]
    for _, carried in recorder.sent:
        assert carried.span_id == turn.context.span_id


def test_a_typed_turn_in_a_voice_call_has_no_recogniser_stages(
    spans: InMemorySpanExporter,
) -> None:
    conn = connection(Recorder())
    conn.voice = listening(detected("item_1"))  # an earlier spoken turn, never answered
    conn.session.turns = 2

    conn._publish(Publish(TranscriptUser(item_id="item_typed", text="hello")))
    root = conn.turn_trace.span
    assert root is not None
    conn.turn_trace.done(DIALOGUE)  # a typed turn does not wait for audio

    found = of_trace(spans, root.get_span_context().trace_id)
    assert [s.name for s in found] == ["turn"]
    assert dict(found[0].attributes or {})["turn.number"] == 2
