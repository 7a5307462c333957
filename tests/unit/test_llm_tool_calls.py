"""The model server's pure parts: grammar schemas, request normalization, tool choice."""

from __future__ import annotations

import json

import pytest
from llama_cpp.llama_grammar import LlamaGrammar

from infra.llm.requests import normalize_chat_request, request_problem
from infra.llm.tool_calls import REPLY, _choices, _for_template
from infra.llm.tool_schema import MAX_GRAMMAR_LENGTH, grammar_schema
from shared.lines import load_tool_specs

TOOLS = [spec.as_function() for spec in load_tool_specs().values()]


@pytest.mark.parametrize("tool", TOOLS, ids=[t["function"]["name"] for t in TOOLS])
def test_every_crm_tool_schema_compiles_to_a_grammar(tool: dict[str, dict[str, object]]) -> None:
    schema = grammar_schema(tool["function"]["parameters"])  # type: ignore[arg-type]

    grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)

    assert grammar is not None
    assert len(grammar._grammar) < 20_000  # long maxLengths do not unroll into huge rules


def test_grammar_schema_keeps_shape_and_drops_what_validation_checks() -> None:
    schema = {
        "type": "object",
        "description": "x",
        "properties": {
            "order_id": {"type": "string", "pattern": "^ORD-[0-9]{5,8}$"},
            "note": {"type": "string", "minLength": 1, "maxLength": 4000},
            "reason": {"type": "string", "enum": ["damaged", "other"]},
        },
        "anyOf": [{"required": ["order_id"]}, {"required": ["note"]}],
    }

    out = grammar_schema(schema)

    assert "anyOf" not in out and "description" not in out
    assert out["additionalProperties"] is False
    assert out["properties"]["order_id"]["pattern"] == "^ORD-[0-9]{5,8}$"
    assert out["properties"]["reason"]["enum"] == ["damaged", "other"]
    assert out["properties"]["note"] == {"type": "string", "minLength": 1}
    assert list(out["properties"]) == ["order_id", "note", "reason"]  # order kept
    assert MAX_GRAMMAR_LENGTH < 4000


def test_null_content_beside_tool_calls_is_accepted_as_openai_clients_send_it() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    request = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "{}"},
            {"role": "assistant", "content": None},
        ],
        "max_completion_tokens": 7,
    }
    assert request_problem(request) is not None  # what llama_cpp.server alone would refuse

    fixed = normalize_chat_request(request)

    assert request_problem(fixed) is None
    assert "content" not in fixed["messages"][1]
    assert fixed["messages"][3]["content"] == ""
    assert fixed["max_tokens"] == 7


def test_a_problem_names_fields_never_values() -> None:
    problem = request_problem({"messages": [{"role": "caller", "content": "my card is 4111"}]})

    assert problem is not None and problem.startswith("invalid request: messages.0")
    assert "4111" not in problem


def test_tool_choice_decides_what_the_model_may_write() -> None:
    tools = TOOLS[:2]
    names = [t["function"]["name"] for t in tools]

    assert _choices("auto", tools) == [*names, REPLY]
    assert _choices(None, tools) == [*names, REPLY]
    assert _choices("required", tools) == names
    assert _choices("none", tools) == [REPLY]
    assert _choices("auto", []) == [REPLY]
    assert _choices({"type": "function", "function": {"name": names[1]}}, tools) == [names[1]]
    with pytest.raises(ValueError):
        _choices({"type": "function", "function": {"name": "nope"}}, tools)


def test_tool_call_arguments_reach_the_template_as_objects() -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}},
            {"id": "d", "type": "function", "function": {"name": "g", "arguments": "not json"}},
        ],
    }

    out = _for_template(message)

    assert out["content"] == ""
    assert out["tool_calls"][0]["function"]["arguments"] == {"a": 1}
    assert out["tool_calls"][1]["function"]["arguments"] == "not json"
    assert message["tool_calls"][0]["function"]["arguments"] == '{"a": 1}'  # input untouched


async def test_admission_refuses_beyond_the_bound_and_frees_on_completion() -> None:
    import asyncio

    from infra.llm.admission import AdmissionLimit

    release = asyncio.Event()
    sent: list[int] = []

    async def slow_app(scope: object, receive: object, send: object) -> None:
        await release.wait()

    limit = AdmissionLimit(slow_app, limit=2)  # type: ignore[arg-type]
    scope = {"type": "http", "path": "/v1/chat/completions"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            sent.append(int(message["status"]))  # type: ignore[call-overload]

    running = [asyncio.create_task(limit(scope, None, send)) for _ in range(2)]  # type: ignore[arg-type]
    await asyncio.sleep(0)
    await limit(scope, None, send)  # type: ignore[arg-type]
    assert sent == [503] and limit.active == 2

    release.set()
    await asyncio.gather(*running)
    assert limit.active == 0
