"""The embedded model server as the gateway uses it: a real process, the real 1.5B model.

Streamed text, a streamed tool call with schema-valid arguments, an answer from a tool result,
and the admission bound. The tools are just ``order_status`` to keep the prompt (and the first,
uncached evaluation of it) short.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.localstack.infrastructure import free_port
from shared.lines import load_tool_specs
from tests.support.openai_stream import stream_chat
from tests.support.processes import ServiceProcess, http_status

SYSTEM = "You are the phone support agent of an online shop. Answer in one short sentence."
ORDER = "Where is my order ORD-77315?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    env = {"LLM_MODEL": "qwen2.5-coder-1.5b", "LLM_MAX_REQUESTS": "2", "LOG_FORMAT": "text"}
    logs = Path(tmp_path_factory.mktemp("logs"))
    proc = ServiceProcess("llm", free_port(), env, logs, module="infra.llm").start()
    try:
        proc.wait_ready(120)  # loads the model (and assembles it on a machine's first run)
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


@pytest.fixture(scope="module")
def tools() -> list[dict[str, object]]:
    return [load_tool_specs()["order_status"].as_function()]


def test_models_and_health(server: ServiceProcess, client: httpx.Client) -> None:
    assert http_status(f"{server.url}/healthz") == 200
    models = client.get(f"{server.url}/v1/models", timeout=10).json()
    assert [m["id"] for m in models["data"]] == ["qwen2.5-coder-1.5b"]


def test_streamed_text(server: ServiceProcess, client: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "Say hello to me."}], "max_tokens": 12}

    reply = stream_chat(client, f"{server.url}/v1", body)

    assert reply.text.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.chunks[0]["choices"][0]["delta"]["role"] == "assistant"


def test_streamed_tool_call_then_answer_from_its_result(
    server: ServiceProcess, client: httpx.Client, tools: list[dict[str, object]]
) -> None:
    messages: list[dict[str, object]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": ORDER},
    ]
    # Temperature 0: the answer's wording is sampled otherwise, and this checks facts, not style.
    base = {"tools": tools, "tool_choice": "auto", "max_tokens": 60, "temperature": 0}

    call = stream_chat(client, f"{server.url}/v1", {**base, "messages": messages})

    assert call.finish_reason == "tool_calls"
    assert call.tool_name == "order_status"
    assert call.tool_arguments == {"order_id": "ORD-77315"}
    header = call.chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert header["id"] and header["type"] == "function" and header["index"] == 0
    assert call.pieces > 1  # the arguments arrive as fragments, as OpenAI streams them

    result = {"order_id": "ORD-77315", "status": "shipped", "carrier": "UPS"}
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.tool_call_id,
                    "type": "function",
                    "function": {"name": call.tool_name, "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.tool_call_id, "content": json.dumps(result)},
    ]
    answer = stream_chat(client, f"{server.url}/v1", {**base, "messages": messages})

    assert answer.finish_reason in ("stop", "length")
    assert not answer.tool_name
    assert "shipped" in answer.text.lower()


def test_a_request_beyond_the_bound_is_refused_at_once(
    server: ServiceProcess, client: httpx.Client
) -> None:
    # Counting to 500 cannot end before max_tokens: both requests are still running below.
    story = {"role": "user", "content": "Count from 1 to 500, one number per line."}
    body = {"messages": [story], "max_tokens": 300, "stream": True}  # long: still running below
    url = f"{server.url}/v1/chat/completions"
    wait_until_idle(client, url, story)  # an earlier test's generation may still be winding down
    with client.stream("POST", url, json=body, timeout=60) as first:
        with client.stream("POST", url, json=body, timeout=60) as second:  # waits its turn
            assert first.status_code == second.status_code == 200
            started = time.monotonic()
            third = client.post(url, json=body, timeout=10)
            assert third.status_code == 503
            assert time.monotonic() - started < 1.0
            assert third.headers["retry-after"] == "1"
    # Both clients hung up: their generations stop, and the server takes requests again.
    wait_until_idle(client, url, story)


def wait_until_idle(client: httpx.Client, url: str, story: dict[str, str]) -> None:
    """A small request is answered (200) within 30 s: no request holds the server any more."""
    small = {"messages": [story], "max_tokens": 2}
    deadline = time.monotonic() + 30
    while (status := client.post(url, json=small, timeout=30).status_code) == 503:
        assert time.monotonic() < deadline, "the server stayed busy after its clients left"
        time.sleep(0.2)
    assert status == 200
