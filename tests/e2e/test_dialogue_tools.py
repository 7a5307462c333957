"""Agent turns through a real gateway: client tools, their timeouts, and the LLM fallback.

The gateway here runs without voice (text turns, ``input.text``) so each test is about the
dialogue; the model is absent (the line's flows answer) or unreachable (the fallback path).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import websockets

from infra.localstack.infrastructure import free_port
from shared.events import Envelope
from tests.support.kafka import read_topic
from tests.support.processes import ServiceProcess, module_gateway

ORDER_TOOL = {
    "type": "function",
    "name": "order_status",
    "description": "Look up an order by its id (like ORD-77315).",
    "parameters": {
        "type": "object",
        "properties": {"order_id": {"type": "string", "pattern": "^ORD-[0-9]{5,8}$"}},
        "required": ["order_id"],
    },
    "execution_mode": "interactive",
    "timeout_seconds": 5,
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, infra, keys) -> Iterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    yield from module_gateway(tmp_path_factory, infra, keys, GATEWAY_VOICE="off")


@pytest.fixture(scope="module")
def gateway_with_dead_llm(tmp_path_factory, infra, keys) -> Iterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    # A model server that is not there: every turn must fall back, never go silent.
    yield from module_gateway(
        tmp_path_factory,
        infra,
        keys,
        GATEWAY_VOICE="off",
        LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
    )


class Chat:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def until(self, kind: str, within_s: float = 15.0) -> dict[str, Any]:
        async with asyncio.timeout(within_s):
            while True:
                frame = json.loads(await self.ws.recv())
                self.frames.append(frame)
                if frame["type"] == kind:
                    return frame


async def chat(gateway: ServiceProcess, key: str, session: dict[str, Any]) -> AsyncIterator[Chat]:
    url = f"ws://127.0.0.1:{gateway.port}/v1/ws"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        c = Chat(ws)
        await c.send(type="session.update", session=session)
        await c.until("session.ready")
        await c.until("reply.done")  # the line's greeting
        yield c


async def test_a_spelled_order_id_becomes_a_client_tool_call_and_its_result_is_spoken(
    gateway, keys
) -> None:
    async for c in chat(gateway, keys.gateway, {"tools": [ORDER_TOOL]}):
        await c.send(type="input.text", text="where is my order O R D seven seven three one five")
        call = await c.until("tool.call")
        assert call["name"] == "order_status"
        assert call["arguments"] == call["args"] == {"order_id": "ORD-77315"}
        done = await c.until("reply.done")
        assert done["status"] == "completed"  # the tool turn's reply ends at the tool call

        result = {"summary": "Order ORD-77315 is out for delivery and arrives tomorrow."}
        await c.send(type="tool.result", call_id=call["call_id"], result=json.dumps(result))
        answer = await c.until("transcript.agent")
        # Said as a person says it, with the tool's facts.
        assert answer["text"] == (
            "Order seven seven three one five is out for delivery and arrives tomorrow."
        )


async def test_a_client_tool_that_never_answers_times_out_and_the_caller_is_told(
    gateway, keys
) -> None:
    quick = {**ORDER_TOOL, "timeout_seconds": 1}
    async for c in chat(gateway, keys.gateway, {"tools": [quick]}):
        await c.send(type="input.text", text="where is order ORD-12345")
        await c.until("tool.call")
        filler = await c.until("transcript.agent")
        assert filler["text"] == "One moment."  # interactive: said while the client works
        await c.until("reply.done")
        answer = await c.until("transcript.agent", within_s=5)
        assert "couldn't reach our system" in answer["text"]
        # The call goes on: the next turn is answered.
        await c.send(type="input.text", text="what are your hours")
        assert "Monday to Friday" in (await c.until("transcript.agent"))["text"]


async def test_a_tool_result_for_an_unknown_call_is_invalid_value_and_the_call_survives(
    gateway, keys
) -> None:
    async for c in chat(gateway, keys.gateway, {}):
        await c.send(type="tool.result", call_id="call_unknown", result="x")
        error = await c.until("session.error")
        assert (error["code"], error["param"]) == ("invalid_value", "call_id")
        await c.send(type="input.text", text="hello")
        assert (await c.until("transcript.agent"))["text"].startswith("Hello!")


async def test_a_dead_model_server_gets_the_fallback_phrase_and_the_flow_answers(
    gateway_with_dead_llm, keys, infra
) -> None:
    gateway = gateway_with_dead_llm
    async for c in chat(gateway, keys.gateway, {}):
        await c.send(type="input.text", text="what are your opening hours?")
        answer = await c.until("transcript.agent")
        assert answer["text"].startswith("Sorry, I'm having trouble right now.")
        assert "Monday to Friday" in answer["text"]  # the flow took the turn
    topic = gateway.env["KAFKA_TOPIC_PREFIX"] + "cc.call-events.v1"
    records = await read_topic(infra.kafka_bootstrap, topic, expect=1000, timeout_s=5)
    fallbacks = [
        e for e in (Envelope.from_json(r.value) for r in records) if e.type == "dialogue.fallback"
    ]
    assert fallbacks, "the event log must say that the model failed"
    assert fallbacks[-1].payload["provider"] == "llm"
    assert "unreachable" in fallbacks[-1].payload["reason"]
