# ruff: noqa: F811  (the spans fixture imported from tests.support.tracing is a parameter here)
"""A caller turn's trace in the gateway: its stage spans, when it ends, the context its events
carry, and that no span attribute ever holds what the caller said or a tool's arguments."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.gateway.adapters.kafka_tools import KafkaToolClient
from services.gateway.dialogue.agent import Agent, AgentTool, ToolOutcome, TurnSettings
from services.gateway.dialogue.base import DialogueOutput, Message, TextDelta, ToolCallRequest
from services.gateway.domain.actions import Action, Publish, Respond
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.entrypoints.replies import Replier, TextOutput
from services.gateway.entrypoints.turn_trace import DIALOGUE, TurnTrace
from services.gateway.pipeline.listener import TurnEnded
from shared.events import Envelope, ToolCompleted, TranscriptUser, new_event
from shared.lines import load_lines
from shared.settings import KafkaSettings
from shared.telemetry.tracing import extract_context, inject_headers
from tests.support.tracing import named, of_trace, spans  # noqa: F401 (fixture)

# What the caller says and what the tool is called with: neither may reach a span.
CALLER_TEXT = "hi this is Zelda Quarterfield, where is ORD-77315, my card is 4111111111111111"
SECRETS = ("Zelda", "Quarterfield", "ORD-77315", "77315", "4111111111111111", "Elmstreet")
ORDER_TOOL = AgentTool(
    name="order_status",
    description="Look an order up",
    parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
    executor="server",
)


def heard(*, speech_ended_s_ago: float, stt_ms: float, eot_ms: int) -> TurnEnded:
    return TurnEnded(
        item_id="item_1",
        text=CALLER_TEXT,
        started_ms=0,
        ended_ms=2000,
        stt_ms=stt_ms,
        end_of_turn_ms=eot_ms,
        speech_end_at=time.monotonic() - speech_ended_s_ago,
    )


def test_a_spoken_turn_has_its_stage_spans_under_one_root(spans: InMemorySpanExporter) -> None:
    turn = TurnTrace()
    turn.begin("sess_v", "demo-retail", 3, heard(speech_ended_s_ago=0.8, stt_ms=250, eot_ms=500))
    turn.stage_just_ended("llm_first_token", 120)
    turn.done(DIALOGUE)
    root = turn.span
    assert root is not None and root.is_recording()  # a spoken turn waits for its audio

    turn.spoke({"tts_first_audio": 90.0, "voice_to_voice": 1400.0}, 2)  # an earlier turn's
    assert root.is_recording()
    turn.spoke({"tts_first_audio": 90.0, "voice_to_voice": 1400.0}, 3)

    found = of_trace(spans, root.get_span_context().trace_id)
    (ended,) = named(found, "turn")
    assert ended.parent is None
    assert dict(ended.attributes or {}) == {
        "call.id": "sess_v",
        "line.id": "demo-retail",
        "turn.number": 3,
        "voice_to_voice_ms": 1400.0,
    }
    stages = {s.name: s for s in found if s.name != "turn"}
    assert set(stages) == {"end_of_turn", "stt", "llm_first_token", "tts_first_audio"}
    for span in stages.values():
        assert span.parent is not None and span.parent.span_id == ended.context.span_id
        assert span.attributes is not None and span.attributes["stage"] == span.name
    assert ended.start_time is not None and ended.end_time is not None
    eot = stages["end_of_turn"]
    # The root is backdated to the caller's last voiced frame: the silence waited is inside it.
    assert ended.start_time <= eot.start_time  # type: ignore[operator]
    assert eot.end_time - eot.start_time == 500_000_000  # type: ignore[operator]
    stt = stages["stt"]
    assert stt.end_time - stt.start_time == 250_000_000  # type: ignore[operator]


def test_a_late_report_of_an_earlier_turn_does_not_end_the_current_one(
    spans: InMemorySpanExporter,
) -> None:
    turn = TurnTrace()
    turn.begin("sess_t", "demo-retail", 1, None)
    first = turn.span
    turn.begin("sess_t", "demo-retail", 1, None)  # the same turn again: no new trace
    assert turn.span is first
    turn.begin("sess_t", "demo-retail", 2, None)
    assert first is not None and not first.is_recording()  # the next turn ended it

    turn.done(DIALOGUE, 1)  # the first turn's cancelled dialogue reporting late
    assert turn.span is not None and turn.span.is_recording()
    turn.done(DIALOGUE, 2)
    assert not turn.span.is_recording()


def test_events_carry_the_turns_context_or_the_current_span_of_the_turn(
    spans: InMemorySpanExporter,
) -> None:
    turn = TurnTrace()
    with turn.attached():
        assert inject_headers() == []  # before any turn: nothing to carry
    turn.begin("sess_h", "demo-retail", 1, None)
    root = turn.span
    assert root is not None

    with turn.attached():
        outside = trace.get_current_span(extract_context(inject_headers())).get_span_context()
    with turn.running(DIALOGUE):
        dialogue = trace.get_current_span().get_span_context()
        with turn.attached():
            inside = trace.get_current_span(extract_context(inject_headers())).get_span_context()

    assert outside.span_id == root.get_span_context().span_id
    assert inside.span_id == dialogue.span_id
    assert inside.trace_id == root.get_span_context().trace_id


class ToolCallingModel:
    """Calls ``order_status`` with the caller's order id, then answers from the result."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls = 0

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]], *, max_tokens: int
    ) -> AsyncIterator[DialogueOutput]:
        self.calls += 1
        if self.calls == 1:
            arguments = json.dumps({"order_id": "ORD-77315"})
            yield ToolCallRequest(id="call_1", name="order_status", arguments=arguments)
        else:
            yield TextDelta("It ships to Elmstreet tomorrow.")

    async def aclose(self) -> None:
        return None


class AnsweringProducer:
    """Stands in for the broker and the tools service: answers each request at once, its
    ``tool.completed`` carrying the request's trace context back as the service's would."""

    def __init__(self) -> None:
        self.client: KafkaToolClient | None = None

    def publish(self, topic: str, event: Envelope) -> bool:
        assert self.client is not None
        completed = ToolCompleted(
            tool_call_id=event.payload["tool_call_id"],
            name=event.payload["name"],
            status="ok",
            result={"status": "shipped", "name": "Zelda Quarterfield", "street": "Elmstreet"},
            duration_ms=4,
            attempts=1,
            reply_to="gw-unit",
        )
        reply = new_event(completed, call_id=event.call_id, line_id=event.line_id, source="tools")
        loop = asyncio.get_running_loop()
        loop.call_soon(self.client._deliver, reply.to_json(), inject_headers())
        return True


def all_attribute_values(found: list[ReadableSpan]) -> str:
    values = [str(v) for s in found for v in (s.attributes or {}).values()]
    values += [str(v) for s in found for e in s.events for v in (e.attributes or {}).values()]
    return " ".join(values)


async def test_no_span_attribute_holds_the_callers_words_or_the_tools_arguments(
    spans: InMemorySpanExporter,
) -> None:
    line = load_lines()["demo-retail"]
    session = VoiceSession(
        session_id=new_session_id(), line=line, started_at=0, max_session_s=3600,
        max_frame_bytes=65536,
    )  # fmt: skip
    producer = AnsweringProducer()
    client = KafkaToolClient(producer=producer, settings=KafkaSettings(), gateway_id="gw-unit")  # type: ignore[arg-type]
    producer.client = client
    client.listening.set()

    async def run_tool(call_id: str, tool: AgentTool, arguments: dict[str, Any]) -> ToolOutcome:
        return await client.run(
            session_id=session.session_id,
            line_id="demo-retail",
            tool_call_id=call_id,
            tool=tool,
            arguments=arguments,
        )

    agent = Agent(ToolCallingModel(), None, TurnSettings(), run_tool)
    turn = TurnTrace()
    performed: list[Action] = []
    replier = Replier(
        session=lambda: session,
        perform=performed.extend,
        output=lambda: TextOutput(lambda: session, performed.extend),
        agent=lambda s: (agent, [ORDER_TOOL]),
        turn_trace=turn,
    )
    actions = session.on_frame(json.dumps({"type": "input.text", "text": CALLER_TEXT}), 1.0)
    for action in actions:  # what the connection does with the core's actions
        if isinstance(action, Publish) and isinstance(action.payload, TranscriptUser):
            turn.begin(session.session_id, "demo-retail", session.turns, None)
        elif isinstance(action, Respond):
            replier.respond(action)
    root = turn.span
    assert root is not None
    await replier.settle(5)

    found = of_trace(spans, root.get_span_context().trace_id)
    names = {s.name for s in found}
    assert {"turn", "dialogue", "llm_first_token", "tool", "tool.result"} <= names
    (tool,) = named(found, "tool")
    assert tool.attributes is not None and tool.attributes["status"] == "ok"
    assert tool.attributes["tool.name"] == "order_status"
    (dialogue,) = named(found, "dialogue")
    (result,) = named(found, "tool.result")
    assert tool.parent is not None and tool.parent.span_id == dialogue.context.span_id
    assert result.parent is not None and result.parent.span_id == tool.context.span_id
    attributes = all_attribute_values(found)
    for secret in SECRETS:
        assert secret not in attributes
    assert "shipped" not in attributes  # nor the tool's result
