# ruff: noqa: F811  (pytest fixtures imported from tests.e2e.test_handoff are parameters here)
"""Each service's ``/metrics`` after one scripted call (issue 10's acceptance).

The stack of test_handoff (gateway, session, tools and analytics as real processes; the gateway
without speech models). The call asks about an order (a server tool over Kafka), cuts that
reply short with a new question (an interruption), gives an email address (redacted by
analytics) and asks for a person (escalated by the session service). A text call has no speech
stages: it populates the ``tool`` stage of ``switchboard_turn_stage_seconds`` (and
``llm_first_token`` with a model provider, not configured here); the speech stages are asserted
after a recorded voice turn in tests/e2e/test_voice_pipeline.py, which has the speech models.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.settings import KafkaSettings
from tests.conftest import Keys
from tests.e2e.test_handoff import config_dir, gateway_ws, stack  # noqa: F401 (fixtures)
from tests.support.calls import Caller
from tests.support.metrics import Samples, declared, scrape, total
from tests.support.processes import ServiceProcess


async def settled(proc: ServiceProcess, done: Callable[[Samples], bool]) -> Samples:
    """The process's samples once ``done`` holds (its consumers may still be catching up)."""
    async with asyncio.timeout(20):
        while True:
            samples = await asyncio.to_thread(scrape, proc)
            if done(samples):
                return samples
            await asyncio.sleep(0.2)


async def send_text(ws: Any, text: str) -> None:
    await ws.send(json.dumps({"type": "input.text", "text": text}))


async def until_agent_says(caller: Caller, wanted: Callable[[dict[str, Any]], bool]) -> None:
    """Read the agent's transcripts until one is ``wanted`` (earlier replies are passed over)."""
    async with asyncio.timeout(30):
        while not wanted(await caller.next("transcript.agent", 30)):
            pass


@pytest.mark.slow
async def test_after_a_scripted_call_every_service_shows_its_metrics(
    stack: dict[str, ServiceProcess], keys: Keys, kafka: KafkaSettings
) -> None:
    async with gateway_ws(stack, keys) as ws:
        caller = Caller(ws)
        await caller.ready()
        during = await asyncio.to_thread(scrape, stack["gateway"])
        # The order lookup opens a reply ("one moment...") and waits on the tools service; the
        # next question, sent as soon as that reply starts, cuts it short.
        await ws.send(json.dumps({"type": "input.text", "text": "where is my order ORD-77315"}))
        await caller.next("reply.started")
        await send_text(ws, "hi, my parcel never came and my email is jane.doe@example.com")
        cut = await caller.next("transcript.agent")
        assert cut["interrupted"] is True
        await until_agent_says(caller, lambda frame: not frame["interrupted"])
        await send_text(ws, "where is order ORD-77315")  # this time the answer is heard
        await until_agent_says(caller, lambda frame: "in transit" in frame["text"])
        await send_text(ws, "this is going nowhere, I want to talk to a real person")
        await until_agent_says(caller, lambda frame: "hold" in frame["text"].lower())
        await ws.send(json.dumps({"type": "session.end"}))
        await caller.next("session.ended")

    assert total(during, "switchboard_active_sessions") == 1
    gateway = await settled(
        stack["gateway"], lambda s: total(s, "switchboard_calls_ended_total") >= 1
    )
    call_events = kafka.topic("cc.call-events.v1")
    assert total(gateway, "switchboard_active_sessions") == 0
    assert total(gateway, "switchboard_calls_started_total", channel="voice_agent") == 1
    assert total(gateway, "switchboard_call_duration_seconds_count") == 1
    assert total(gateway, "switchboard_turn_stage_seconds_count", stage="tool") >= 1
    assert total(gateway, "switchboard_interruptions_total") >= 1
    assert total(gateway, "switchboard_events_published_total", topic=call_events) >= 10
    assert declared(stack["gateway"], "switchboard_events_dropped_total")
    assert total(gateway, "switchboard_events_dropped_total") == 0

    tools = await settled(
        stack["tools"],
        lambda s: total(s, "switchboard_tool_duration_seconds_count", tool="order_status") >= 2,
    )
    assert total(tools, "switchboard_tool_duration_seconds_count", status="ok") >= 2
    assert total(tools, "switchboard_tool_duration_seconds_bucket", le="+Inf") >= 2
    assert total(tools, "switchboard_events_published_total") >= 2  # the results
    assert declared(stack["tools"], "switchboard_consumer_lag")

    session = await settled(
        stack["session"], lambda s: total(s, "switchboard_escalations_total") >= 1
    )
    assert total(session, "switchboard_escalations_total", rule="asked-for-person") == 1
    assert total(session, "switchboard_consumer_records_total", outcome="ok") >= 1
    assert declared(stack["session"], "switchboard_consumer_lag")

    analytics = await settled(
        stack["analytics"], lambda s: total(s, "switchboard_redactions_total") >= 1
    )
    assert any(
        name == "switchboard_redactions_total" and labels.get("entity") and value >= 1
        for name, labels, value in analytics
    )
    assert total(analytics, "switchboard_redaction_seconds_count") >= 1
    assert total(analytics, "switchboard_consumer_records_total", outcome="ok") >= 1
    lag = [labels for name, labels, _ in analytics if name == "switchboard_consumer_lag"]
    assert any(labels.get("topic") == call_events and labels.get("group") for labels in lag)
