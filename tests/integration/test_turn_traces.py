# ruff: noqa: F811  (pytest fixtures imported from tests.support are parameters here)
"""Acceptance of issue #10's traces: one trace for a caller turn that used a server tool, across
the real Kafka-protocol broker.

The gateway app and the tools app (its CRM in Postgres) run in this process under uvicorn,
sharing the process's tracer provider and an in-memory exporter. The gateway talks text
(``GATEWAY_VOICE=off``); the demo line's flows call the server tool ``order_status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infra.localstack.infrastructure import free_port
from services.gateway.bootstrap import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.tools.bootstrap import create_app as create_tools
from services.tools.settings import ToolsSettings
from shared.events import Envelope
from shared.settings import KafkaSettings
from tests.conftest import Keys
from tests.support.calls import Caller
from tests.support.kafka import read_topic
from tests.support.tools import hanging_server, tools_env  # noqa: F401 (fixtures)
from tests.support.tracing import named, of_trace, spans  # noqa: F401 (fixture)
from tests.support.waiting import wait_until

QUESTION = "where is my order O R D seven seven three one five"
# Turn events the gateway publishes; each must carry the turn's trace context.
TURN_EVENTS = {"transcript.user", "tool.call", "tool.result", "transcript.agent"}


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        assert await wait_until(lambda: server.started or task.done(), 30)
        assert server.started, "the app did not start"
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def apps(
    tools_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[int, FastAPI]]:
    """The tools app, then the gateway app, both serving; the gateway's port and tools app."""
    for key, value in tools_env.items():
        monkeypatch.setenv(key, value)
    tools_app = create_tools(ToolsSettings(TOOLS_PORT=free_port()))
    gateway_port = free_port()
    gateway_app = create_gateway(GatewaySettings(GATEWAY_PORT=gateway_port))
    async with (
        serving(tools_app, tools_app.state.settings.port),
        serving(gateway_app, gateway_port),
    ):
        consumer = tools_app.state.consumer
        # The tools consumer owns its partitions and the gateway listens for results: from here
        # on a tool call is answered, not timed out while a group is joined.
        assert await wait_until(
            lambda: consumer._consumer is not None and consumer._consumer.assignment(), 30
        )
        tool_client = gateway_app.state.context.dialogue.tool_client
        assert await wait_until(tool_client.listening.is_set, 20)
        yield gateway_port, tools_app


async def one_turn(port: int, key: str) -> tuple[str, str]:
    """A call with one caller turn; its call id and the agent's answer."""
    url = f"ws://127.0.0.1:{port}/v1/ws"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        caller = Caller(ws)
        call_id = await caller.ready()
        answer = await caller.answer_to(QUESTION)
    return call_id, answer


def parent_of(span: ReadableSpan, found: list[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    (parent,) = [s for s in found if s.context.span_id == span.parent.span_id]
    return parent


def traceparent(headers: Any) -> str:
    return dict(headers or []).get("traceparent", b"").decode()


async def test_a_turn_with_a_server_tool_is_one_trace_across_kafka(
    apps: tuple[int, FastAPI], spans: InMemorySpanExporter, keys: Keys, tools_env: dict[str, str]
) -> None:
    port, _ = apps
    call_id, answer = await one_turn(port, keys.gateway)
    assert "in transit" in answer  # the tool really ran against the CRM

    def turns() -> list[ReadableSpan]:
        found = named(list(spans.get_finished_spans()), "turn")
        return [s for s in found if (s.attributes or {}).get("call.id") == call_id]

    (turn,) = await wait_until(turns, 10)
    assert dict(turn.attributes or {}) == {
        "call.id": call_id,
        "line.id": "demo-retail",
        "turn.number": 1,
    }
    trace_id = turn.context.trace_id

    def whole_trace() -> list[ReadableSpan]:
        found = of_trace(spans, trace_id)
        return found if named(found, "tool.result") else []

    found = await wait_until(whole_trace, 10)

    # The gateway: turn -> dialogue -> tool, and the model's first token as a stage of the turn.
    assert turn.parent is None
    (dialogue,) = named(found, "dialogue")
    assert parent_of(dialogue, found) is turn
    # One per round of the model: before the tool call and after its result.
    first_tokens = named(found, "llm_first_token")
    assert len(first_tokens) == 2
    assert all(parent_of(span, found) is turn for span in first_tokens)
    (tool,) = named(found, "tool")
    assert parent_of(tool, found) is dialogue
    assert dict(tool.attributes or {})["status"] == "ok"

    # The tools service, over Kafka: its span is a child of the gateway's span that published
    # the request (the parent came in the record's headers, so it is remote).
    (execute,) = named(found, "tool.execute")
    assert execute.parent is not None and execute.parent.is_remote
    assert parent_of(execute, found) is tool
    attributes = dict(execute.attributes or {})
    assert attributes["tool.name"] == "order_status"
    assert attributes["status"] == "ok"
    assert attributes["call.id"] == call_id

    # And back: the gateway's handling of the result is under the tools service's span.
    (result,) = named(found, "tool.result")
    assert result.parent is not None and result.parent.is_remote
    assert parent_of(result, found) is execute

    # What the caller said and the tool's arguments are in no span of the trace.
    values = " ".join(str(v) for s in found for v in (s.attributes or {}).values())
    for secret in ("seven", "77315", "ORD-"):
        assert secret not in values

    # Every event of the turn on the call-events topic carries the turn's trace.
    kafka = KafkaSettings()
    records = await read_topic(
        kafka.bootstrap_servers, kafka.topic("cc.call-events.v1"), expect=10**6, timeout_s=2
    )
    of_call = [
        (Envelope.from_json(r.value).type, traceparent(r.headers))
        for r in records
        if r.value and json.loads(r.value)["call_id"] == call_id
    ]
    kinds = [kind for kind, _ in of_call]
    of_turn = of_call[kinds.index("transcript.user") :]  # the greeting's events come before
    assert TURN_EVENTS <= {kind for kind, _ in of_turn}
    hex_id = format(trace_id, "032x")
    for kind, header in of_turn:
        if kind in TURN_EVENTS:
            assert header.split("-")[1] == hex_id, kind
