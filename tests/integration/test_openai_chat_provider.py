"""OpenAIChatProvider against a fake chat-completions server over real HTTP on 127.0.0.1.

The fake speaks the streaming API (``text/event-stream``, ``data: {...}`` chunks, ``data:
[DONE]``) from a script per scenario; each test has a scenario of its own in the URL path, so
tests never see each other's requests.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.gateway.dialogue.agent import Agent, FellBack, Say, ToolOutcome, TurnSettings
from services.gateway.dialogue.base import (
    DialogueError,
    DialogueOutput,
    Message,
    TextDelta,
    ToolCallRequest,
)
from services.gateway.dialogue.flows import FlowProvider
from services.gateway.dialogue.openai_chat import MAX_ANSWER_CHARS, OpenAIChatProvider
from shared.lines import Flow, SupportLine

MESSAGES: list[Message] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Where is ORD-77315?"},
]
FUNCTION = {
    "type": "function",
    "function": {
        "name": "order_status",
        "description": "Look up an order.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}},
    },
}


@dataclass
class Seen:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Script:
    """What the fake answers to one scenario."""

    status: int = 200
    lines: list[str] = field(default_factory=list)
    stall_s: float = 0.0  # after the headers, before the first line (until released)
    released: threading.Event = field(default_factory=threading.Event)
    seen: list[Seen] = field(default_factory=list)  # the requests it answered


class FakeChatServer:
    def __init__(self) -> None:
        self.scripts: dict[str, Script] = {}
        self.port = 0
        self.app = Starlette(
            routes=[Route("/{scenario}/v1/chat/completions", self._answer, methods=["POST"])]
        )

    def scenario(self, script: Script) -> str:
        """A new scenario answered by ``script``; returns its base URL."""
        name = uuid.uuid4().hex[:12]
        self.scripts[name] = script
        return f"http://127.0.0.1:{self.port}/{name}/v1"

    async def _answer(self, request: Request) -> Response:
        script = self.scripts[request.path_params["scenario"]]
        script.seen.append(Seen(await request.json(), dict(request.headers)))
        if script.status != 200:
            return JSONResponse({"error": {"message": "no"}}, status_code=script.status)

        async def events() -> AsyncIterator[str]:
            if script.stall_s:
                # Bounded: the stall ends when the test releases it or after stall_s.
                await asyncio.to_thread(script.released.wait, script.stall_s)
            for line in script.lines:
                yield line + "\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    config = uvicorn.Config(
        fake.app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, name="fake-chat-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not runner.started:
        assert time.monotonic() < deadline, "the fake chat server did not start"
        assert thread.is_alive(), "the fake chat server stopped"
        time.sleep(0.01)
    fake.port = runner.servers[0].sockets[0].getsockname()[1]
    yield fake
    for script in fake.scripts.values():
        script.released.set()
    runner.should_exit = True
    thread.join(timeout=5)


def chunk(**delta: Any) -> str:
    return "data: " + json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
    )


def tool_piece(index: int, **piece: Any) -> dict[str, Any]:
    return {"index": index, **piece}


DONE = "data: [DONE]"


async def collect(
    provider: OpenAIChatProvider, tools: list[dict[str, Any]] | None = None
) -> list[DialogueOutput]:
    outputs: list[DialogueOutput] = []
    async for output in provider.stream(MESSAGES, tools or [], max_tokens=64):
        outputs.append(output)
    return outputs


@pytest.fixture
async def make(server: FakeChatServer) -> AsyncIterator[Any]:
    providers: list[OpenAIChatProvider] = []

    def build(script: Script, **options: Any) -> OpenAIChatProvider:
        options.setdefault("model", "test-model")
        provider = OpenAIChatProvider(base_url=server.scenario(script), **options)
        providers.append(provider)
        return provider

    yield build
    for provider in providers:
        await provider.aclose()


# -- streaming ---------------------------------------------------------------------------------


async def test_text_deltas_are_streamed_in_order(make: Any) -> None:
    provider = make(
        Script(
            lines=[
                ": keep-alive",
                chunk(role="assistant"),
                chunk(content="Your order "),
                "event: ignored",
                chunk(content="has "),
                chunk(content=""),
                chunk(content="shipped."),
                DONE,
                chunk(content="after the end"),
            ]
        )
    )

    assert await collect(provider) == [
        TextDelta("Your order "),
        TextDelta("has "),
        TextDelta("shipped."),
    ]


async def test_a_tool_call_in_pieces_is_assembled(make: Any) -> None:
    provider = make(
        Script(
            lines=[
                chunk(
                    tool_calls=[
                        tool_piece(
                            0,
                            id="call_abc",
                            type="function",
                            function={"name": "order_status", "arguments": ""},
                        )
                    ]
                ),
                chunk(tool_calls=[tool_piece(0, function={"arguments": '{"order_'})]),
                chunk(tool_calls=[tool_piece(0, function={"arguments": 'id": "ORD-'})]),
                chunk(tool_calls=[tool_piece(0, function={"arguments": '77315"}'})]),
                DONE,
            ]
        )
    )

    assert await collect(provider, [FUNCTION]) == [
        ToolCallRequest("call_abc", "order_status", '{"order_id": "ORD-77315"}')
    ]


async def test_parallel_tool_calls_are_told_apart_by_index(make: Any) -> None:
    provider = make(
        Script(
            lines=[
                chunk(content="Checking both."),
                chunk(tool_calls=[tool_piece(0, id="call_a", function={"name": "order_status"})]),
                chunk(tool_calls=[tool_piece(1, id="call_b", function={"name": "store_info"})]),
                chunk(tool_calls=[tool_piece(1, function={"arguments": '{"topic": "hours"}'})]),
                chunk(tool_calls=[tool_piece(0, function={"arguments": '{"order_id": "ORD-1"}'})]),
                DONE,
            ]
        )
    )

    assert await collect(provider, [FUNCTION]) == [
        TextDelta("Checking both."),
        ToolCallRequest("call_a", "order_status", '{"order_id": "ORD-1"}'),
        ToolCallRequest("call_b", "store_info", '{"topic": "hours"}'),
    ]


async def test_a_tool_call_whose_arguments_come_as_an_object_is_accepted(make: Any) -> None:
    provider = make(
        Script(
            lines=[
                chunk(
                    tool_calls=[
                        tool_piece(0, function={"name": "store_info", "arguments": {"topic": "x"}})
                    ]
                ),
                DONE,
            ]
        )
    )

    [request] = await collect(provider, [FUNCTION])

    assert isinstance(request, ToolCallRequest)
    assert (request.id, request.name, json.loads(request.arguments)) == (
        "call_0",
        "store_info",
        {"topic": "x"},
    )


# -- the request -------------------------------------------------------------------------------


async def test_the_request_carries_the_conversation_tools_and_bounds(make: Any) -> None:
    script = Script(lines=[chunk(content="Hi."), DONE])
    provider = make(script, api_key="sk-test-123", temperature=0.5)

    await collect(provider, [FUNCTION])

    [seen] = script.seen
    assert seen.body == {
        "model": "test-model",
        "messages": MESSAGES,
        "tools": [FUNCTION],
        "tool_choice": "auto",
        "stream": True,
        "max_tokens": 64,
        "temperature": 0.5,
    }
    assert seen.headers["authorization"] == "Bearer sk-test-123"


async def test_without_a_key_or_tools_neither_is_sent(make: Any) -> None:
    script = Script(lines=[chunk(content="Hi."), DONE])

    await collect(make(script))

    [seen] = script.seen
    assert "authorization" not in seen.headers
    assert "tools" not in seen.body and "tool_choice" not in seen.body


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (401, False)]
)
async def test_an_error_status_is_a_dialogue_error(make: Any, status: int, retryable: bool) -> None:
    provider = make(Script(status=status))

    with pytest.raises(DialogueError) as raised:
        await collect(provider)

    assert raised.value.retryable is retryable
    assert str(status) in str(raised.value)


@pytest.mark.parametrize(
    "bad_line",
    [
        "data: {not json",
        "data: [1, 2]",
        'data: {"error": {"message": "overloaded"}}',
    ],
)
async def test_a_malformed_stream_is_a_dialogue_error(make: Any, bad_line: str) -> None:
    provider = make(Script(lines=[chunk(content="Fine so far. "), bad_line, DONE]))
    outputs: list[DialogueOutput] = []

    with pytest.raises(DialogueError):
        async for output in provider.stream(MESSAGES, [], max_tokens=64):
            outputs.append(output)

    assert outputs == [TextDelta("Fine so far. ")]


async def test_a_tool_call_without_a_name_is_refused(make: Any) -> None:
    provider = make(
        Script(lines=[chunk(tool_calls=[tool_piece(0, function={"arguments": "{}"})]), DONE])
    )

    with pytest.raises(DialogueError) as raised:
        await collect(provider, [FUNCTION])

    assert raised.value.retryable is False


async def test_an_unreachable_server_is_a_dialogue_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    provider = OpenAIChatProvider(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", connect_timeout_s=1.0
    )
    try:
        with pytest.raises(DialogueError) as raised:
            await collect(provider)
    finally:
        await provider.aclose()

    assert "unreachable" in str(raised.value)


async def test_an_answer_past_the_bound_is_refused(make: Any) -> None:
    piece = "x" * 1000
    count = MAX_ANSWER_CHARS // len(piece) + 1
    provider = make(Script(lines=[*(chunk(content=piece) for _ in range(count)), DONE]))
    received = 0

    with pytest.raises(DialogueError) as raised:
        async for output in provider.stream(MESSAGES, [], max_tokens=64):
            assert isinstance(output, TextDelta)
            received += len(output.text)

    assert received == MAX_ANSWER_CHARS
    assert raised.value.retryable is False


# -- through the agent -------------------------------------------------------------------------

HOURS_LINE = SupportLine(
    line_id="hours",
    name="Hours",
    policies={"hours": "We are open nine to five."},
    flows=[Flow(intent="hours", match=["open"], say="{policy.hours}")],
)


async def _no_tools(*_: Any) -> ToolOutcome:
    raise AssertionError("no tool runs in this test")


async def test_a_stalled_model_falls_back_to_the_flows_within_the_first_token_timeout(
    make: Any,
) -> None:
    script = Script(stall_s=10.0, lines=[chunk(content="Too late."), DONE])
    provider = make(script)
    agent = Agent(
        primary=provider,
        fallback=FlowProvider(HOURS_LINE),
        settings=TurnSettings(first_token_timeout_s=0.2, timeout_s=5.0, fallback_phrase="Sorry."),
        run_server_tool=_no_tools,
    )

    outputs = [o async for o in agent.run_turn([{"role": "user", "content": "are you open?"}], [])]
    script.released.set()

    assert [o for o in outputs if isinstance(o, FellBack)] == [
        FellBack("llm", "the model took too long")
    ]
    assert [o.text for o in outputs if isinstance(o, Say)] == [
        "Sorry.",
        "We are open nine to five.",
    ]
