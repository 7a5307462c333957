"""One agent turn over a scripted provider, and the messages the model is shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.gateway.dialogue.agent import (
    Agent,
    AgentTool,
    AwaitClientTools,
    FellBack,
    FirstToken,
    Remember,
    Say,
    ToolFinished,
    ToolOutcome,
    ToolStarted,
    TurnOutput,
    TurnSettings,
)
from services.gateway.dialogue.base import (
    DialogueError,
    DialogueOutput,
    Message,
    TextDelta,
    ToolCallRequest,
)
from services.gateway.dialogue.prompt import MAX_PROMPT_MESSAGES, VOICE_RULES, model_messages
from shared.lines import SupportLine

SORRY = "Sorry, one moment please."
# The caller's words name the order ids the scripted tool calls use (ids are never guessed).
HI: list[Message] = [{"role": "user", "content": "hi, about ORD-77315 and ORD-12345"}]

# A scripted step: a provider output, an error to raise, seconds to stall, or an event to wait on.
Step = TextDelta | ToolCallRequest | DialogueError | float | asyncio.Event


class ScriptedProvider:
    """A dialogue provider that plays one script per call, and records what it was asked."""

    def __init__(self, name: str, *scripts: list[Step]) -> None:
        self.name = name
        self.scripts = list(scripts)
        self.asked: list[list[Message]] = []
        self.tools: list[list[dict[str, Any]]] = []
        self.max_tokens: list[int] = []
        self.streams_closed = 0
        self.closed = False

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]], *, max_tokens: int
    ) -> AsyncIterator[DialogueOutput]:
        self.asked.append(json.loads(json.dumps(messages)))
        self.tools.append(tools)
        self.max_tokens.append(max_tokens)
        assert self.scripts, f"{self.name} was asked more often than scripted"
        try:
            for step in self.scripts.pop(0):
                if isinstance(step, DialogueError):
                    raise step
                if isinstance(step, float):
                    await asyncio.sleep(step)
                elif isinstance(step, asyncio.Event):
                    await step.wait()
                else:
                    yield step
        finally:
            self.streams_closed += 1

    async def aclose(self) -> None:
        self.closed = True


class FakeTools:
    """The server tool runner: answers from a table and records every call."""

    def __init__(self, outcome: ToolOutcome | None = None) -> None:
        self.outcome = outcome or ToolOutcome("ok", result={"status": "shipped"}, duration_ms=3)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def __call__(
        self, call_id: str, tool: AgentTool, arguments: dict[str, Any]
    ) -> ToolOutcome:
        await asyncio.sleep(0)
        self.calls.append((call_id, tool.name, arguments))
        return self.outcome


ORDER_STATUS = AgentTool(
    name="order_status",
    description="Look up an order.",
    parameters={
        "type": "object",
        "additionalProperties": False,
        "required": ["order_id"],
        "properties": {"order_id": {"type": "string", "pattern": "^ORD-[0-9]{5,8}$"}},
    },
    executor="server",
    filler="One moment while I look.",
)
STORE_INFO = AgentTool(
    name="store_info",
    description="Store facts.",
    parameters={"type": "object"},
    executor="server",
    execution_mode="hold",
    filler="This is never said.",
)
SHOW_CART = AgentTool(
    name="show_cart",
    description="Runs in the caller's app.",
    parameters={"type": "object"},
    executor="client",
    filler="One moment.",
)
TOOLS = [ORDER_STATUS, STORE_INFO, SHOW_CART]


def make_agent(
    primary: ScriptedProvider,
    fallback: ScriptedProvider | None = None,
    tools: FakeTools | None = None,
    **settings: Any,
) -> Agent:
    return Agent(
        primary=primary,
        fallback=fallback,
        settings=TurnSettings(**{"fallback_phrase": SORRY, **settings}),
        run_server_tool=tools or FakeTools(),
    )


async def turn(agent: Agent, tools: list[AgentTool] = TOOLS) -> list[TurnOutput]:
    return [item async for item in agent.run_turn(list(HI), tools)]


def says(outputs: list[TurnOutput]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Say)]


def without_first_tokens(outputs: list[TurnOutput]) -> list[TurnOutput]:
    return [o for o in outputs if not isinstance(o, FirstToken)]


def call(call_id: str, name: str, arguments: Any) -> ToolCallRequest:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCallRequest(call_id, name, text)


# -- what is said ------------------------------------------------------------------------------


async def test_sentences_are_said_as_they_complete() -> None:
    heard = asyncio.Event()
    llm = ScriptedProvider("llm", [TextDelta("Let me see. It has"), heard, TextDelta(" shipped.")])
    said: list[str] = []

    async for item in make_agent(llm, timeout_s=2.0).run_turn(list(HI), []):
        if isinstance(item, Say):
            said.append(item.text)
            heard.set()  # the provider goes on only once the first sentence was heard

    assert said == ["Let me see.", "It has shipped."]


async def test_sentences_split_over_deltas_are_said_whole_in_spoken_style() -> None:
    llm = ScriptedProvider(
        "llm",
        [TextDelta("Your order ORD-77"), TextDelta("315 has shipped! It arr"), TextDelta("ives.")],
    )

    assert says(await turn(make_agent(llm))) == [
        "Your order seven seven three one five has shipped!",
        "It arrives.",
    ]


async def test_the_first_token_is_reported_once_per_model_call() -> None:
    llm = ScriptedProvider("llm", [TextDelta("Hello"), TextDelta(" there.")])

    outputs = await turn(make_agent(llm))

    assert isinstance(outputs[0], FirstToken) and outputs[0].ms >= 0
    assert sum(isinstance(o, FirstToken) for o in outputs) == 1


async def test_json_is_never_said() -> None:
    llm = ScriptedProvider(
        "llm", [TextDelta("Sure. "), TextDelta('{"status": "ok", "result": {"eta": "Friday"}}')]
    )

    assert says(await turn(make_agent(llm))) == ["Sure."]


async def test_a_reply_of_only_json_says_the_fallback_phrase() -> None:
    llm = ScriptedProvider("llm", [TextDelta('{"order_id": "ORD-77315"}')])

    assert says(await turn(make_agent(llm))) == [SORRY]


@pytest.mark.parametrize("reply", ["", "   ", "**", "call_8f3k2LmQ9x"])
async def test_nothing_speakable_says_the_fallback_phrase(reply: str) -> None:
    llm = ScriptedProvider("llm", [TextDelta(reply)])

    assert says(await turn(make_agent(llm))) == [SORRY]


async def test_a_numbered_list_is_said_without_its_numbers() -> None:
    llm = ScriptedProvider("llm", [TextDelta("You can:\n1. Return it\n2. Exchange it")])

    spoken = " ".join(says(await turn(make_agent(llm))))

    assert "1." not in spoken and "2." not in spoken


async def test_a_sentence_starting_with_a_link_is_said() -> None:
    llm = ScriptedProvider("llm", [TextDelta("[Track it here](https://x.test/t) any time.")])

    assert says(await turn(make_agent(llm))) == ["Track it here any time."]


# -- tools -------------------------------------------------------------------------------------


async def test_a_server_tool_runs_and_its_result_is_remembered_and_shown_to_the_model() -> None:
    runner = FakeTools(ToolOutcome("ok", result={"status": "shipped"}, duration_ms=7))
    llm = ScriptedProvider(
        "llm",
        [call("c1", "order_status", {"order_id": "ORD-77315"})],
        [TextDelta("It has shipped.")],
    )

    outputs = without_first_tokens(await turn(make_agent(llm, tools=runner)))

    tool_message = {
        "role": "tool",
        "tool_call_id": "c1",
        "content": json.dumps({"status": "ok", "result": {"status": "shipped"}}),
    }
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "order_status", "arguments": '{"order_id": "ORD-77315"}'},
            }
        ],
    }
    assert outputs == [
        Remember(assistant),
        ToolStarted("c1", ORDER_STATUS, {"order_id": "ORD-77315"}),
        Say("One moment while I look."),
        ToolFinished("c1", "order_status", runner.outcome),
        Remember(tool_message),
        Say("It has shipped."),
    ]
    assert runner.calls == [("c1", "order_status", {"order_id": "ORD-77315"})]
    assert llm.asked[1] == [*HI, assistant, tool_message]


async def test_a_failed_server_tool_is_reported_to_the_model() -> None:
    runner = FakeTools(ToolOutcome("timeout", error="crm timed out"))
    llm = ScriptedProvider(
        "llm", [call("c1", "store_info", {})], [TextDelta("I couldn't reach the system.")]
    )

    outputs = await turn(make_agent(llm, tools=runner))

    assert json.loads(llm.asked[1][-1]["content"]) == {
        "status": "timeout",
        "error": "crm timed out",
    }
    assert says(outputs) == ["I couldn't reach the system."]


async def test_the_model_sees_the_tools_and_the_token_bound() -> None:
    llm = ScriptedProvider("llm", [TextDelta("Hi.")])

    await turn(make_agent(llm, max_tokens=42))

    assert llm.tools[0] == [tool.as_function() for tool in TOOLS]
    assert llm.max_tokens == [42]


async def test_an_interactive_tool_says_its_filler_and_a_hold_tool_is_silent() -> None:
    llm = ScriptedProvider(
        "llm",
        [call("c1", "store_info", {}), call("c2", "order_status", {"order_id": "ORD-12345"})],
        [TextDelta("Done.")],
    )

    assert says(await turn(make_agent(llm))) == ["One moment while I look.", "Done."]


async def test_a_client_tool_ends_the_turn_to_wait_for_the_client() -> None:
    runner = FakeTools()
    llm = ScriptedProvider("llm", [call("c9", "show_cart", {"items": 2})])

    outputs = without_first_tokens(await turn(make_agent(llm, tools=runner)))

    assert outputs[1:] == [
        ToolStarted("c9", SHOW_CART, {"items": 2}),
        Say("One moment."),
        AwaitClientTools(("c9",)),
    ]
    assert runner.calls == []
    assert len(llm.asked) == 1


async def test_server_tools_run_before_the_turn_waits_for_client_tools() -> None:
    runner = FakeTools()
    llm = ScriptedProvider(
        "llm",
        [call("c1", "show_cart", {}), call("c2", "store_info", {}), call("c3", "show_cart", {})],
    )

    outputs = await turn(make_agent(llm, tools=runner))

    assert runner.calls == [("c2", "store_info", {})]
    assert outputs[-1] == AwaitClientTools(("c1", "c3"))
    assert [o.call_id for o in outputs if isinstance(o, ToolFinished)] == ["c2"]


@pytest.mark.parametrize(
    ("bad_call", "problem"),
    [
        (call("c1", "order_status", "{not json"), "not valid JSON"),
        (call("c1", "order_status", "[1, 2]"), "must be a JSON object"),
        (call("c1", "order_status", {"order_id": "77315"}), "order_id"),
        (call("c1", "order_status", {}), "required"),
        (call("c1", "order_status", {"order_id": "ORD-77315", "x": 1}), "Additional properties"),
        (call("c1", "refund_everything", {}), "no tool named 'refund_everything'"),
    ],
)
async def test_an_invalid_tool_call_is_reported_to_the_model_and_never_runs(
    bad_call: ToolCallRequest, problem: str
) -> None:
    runner = FakeTools()
    llm = ScriptedProvider("llm", [bad_call], [TextDelta("Which order was it?")])

    outputs = await turn(make_agent(llm, tools=runner))

    assert runner.calls == []
    assert not any(isinstance(o, ToolStarted | ToolFinished) for o in outputs)
    assert says(outputs) == ["Which order was it?"]  # no filler, no word about the error
    reported = llm.asked[1][-1]
    assert reported["role"] == "tool" and reported["tool_call_id"] == "c1"
    body = json.loads(reported["content"])
    assert body["status"] == "error" and problem in body["error"]
    assert Remember(reported) in outputs


async def test_tool_rounds_are_bounded() -> None:
    runner = FakeTools()
    scripts: list[list[Step]] = [[call(f"c{n}", "store_info", {})] for n in range(5)]
    llm = ScriptedProvider("llm", *scripts)

    outputs = await turn(make_agent(llm, tools=runner, max_tool_rounds=2))

    assert [c[0] for c in runner.calls] == ["c0", "c1"]
    assert len(llm.asked) == 3
    assert says(outputs) == [SORRY]  # the hold tool said nothing: the caller hears the phrase


async def test_messages_passed_in_are_not_changed() -> None:
    messages = list(HI)
    llm = ScriptedProvider("llm", [call("c1", "store_info", {})], [TextDelta("Ok.")])

    [_ async for _ in make_agent(llm).run_turn(messages, TOOLS)]

    assert messages == HI


# -- failures and the fallback -----------------------------------------------------------------


async def test_a_provider_error_says_the_phrase_and_the_fallback_answers() -> None:
    llm = ScriptedProvider("llm", [DialogueError("answered 500")])
    flow = ScriptedProvider("flow", [TextDelta("What's your order number?")])

    outputs = without_first_tokens(await turn(make_agent(llm, flow)))

    assert outputs == [
        FellBack("llm", "answered 500"),
        Say(SORRY),
        Say("What's your order number?"),
    ]
    assert flow.asked == [HI]


async def test_an_error_after_speaking_falls_back_without_the_phrase() -> None:
    llm = ScriptedProvider("llm", [TextDelta("Let me check. "), DialogueError("stream cut")])
    flow = ScriptedProvider("flow", [TextDelta("Which order?")])

    outputs = await turn(make_agent(llm, flow))

    assert says(outputs) == ["Let me check.", "Which order?"]
    assert FellBack("llm", "stream cut") in outputs


async def test_the_fallback_continues_after_tool_results() -> None:
    llm = ScriptedProvider("llm", [call("c1", "store_info", {})], [DialogueError("gone")])
    flow = ScriptedProvider("flow", [TextDelta("We are open nine to five.")])

    outputs = await turn(make_agent(llm, flow))

    assert says(outputs) == [SORRY, "We are open nine to five."]
    assert flow.asked[0][-1]["role"] == "tool"


async def test_the_fallback_may_use_a_tool_when_the_primary_used_none() -> None:
    runner = FakeTools()
    llm = ScriptedProvider("llm", [DialogueError("down")])
    flow = ScriptedProvider("flow", [call("f1", "store_info", {})], [TextDelta("Nine to five.")])

    outputs = await turn(make_agent(llm, flow, tools=runner, max_tool_rounds=1))

    assert runner.calls == [("f1", "store_info", {})]
    assert says(outputs) == [SORRY, "Nine to five."]


async def test_without_a_fallback_an_error_says_the_phrase_once() -> None:
    llm = ScriptedProvider("llm", [DialogueError("down")])

    outputs = await turn(make_agent(llm))

    assert says(outputs) == [SORRY]
    assert not any(isinstance(o, FellBack) for o in outputs)


async def test_a_failing_fallback_says_the_phrase_once() -> None:
    llm = ScriptedProvider("llm", [DialogueError("down")])
    flow = ScriptedProvider("flow", [DialogueError("also down")])

    outputs = await turn(make_agent(llm, flow))

    assert says(outputs) == [SORRY]
    assert [o for o in outputs if isinstance(o, FellBack)] == [FellBack("llm", "down")]


async def test_no_first_token_in_time_falls_back() -> None:
    llm = ScriptedProvider("llm", [5.0, TextDelta("Too late.")])
    flow = ScriptedProvider("flow", [TextDelta("Flows here.")])

    outputs = await turn(make_agent(llm, flow, first_token_timeout_s=0.05, timeout_s=5.0))

    assert says(outputs) == [SORRY, "Flows here."]
    assert FellBack("llm", "the model took too long") in outputs
    assert llm.streams_closed == 1  # the stalled stream was closed, not left running


async def test_a_reply_that_stalls_after_its_first_sentence_falls_back() -> None:
    llm = ScriptedProvider("llm", [TextDelta("Let me look. "), 5.0, TextDelta("Never.")])
    flow = ScriptedProvider("flow", [TextDelta("Flows here.")])

    outputs = await turn(make_agent(llm, flow, first_token_timeout_s=1.0, timeout_s=0.1))

    assert says(outputs) == ["Let me look.", "Flows here."]
    assert llm.streams_closed == 1


# -- what the model is shown -------------------------------------------------------------------

LINE = SupportLine(
    line_id="shop",
    name="Shop",
    system_prompt="You are the agent of Acme.",
    policies={"return_window": "Thirty days.", "hours": "Nine to five."},
)


def test_the_system_prompt_holds_the_rules_the_line_and_its_policies() -> None:
    system = model_messages(LINE, HI, session_prompt="The caller is Ada.")[0]

    assert system["role"] == "system"
    content = system["content"]
    assert VOICE_RULES in content
    assert "You are the agent of Acme." in content
    assert "The caller is Ada." in content
    assert "Return Window: Thirty days." in content
    assert "Hours: Nine to five." in content


def test_a_line_without_policies_quotes_none() -> None:
    bare = SupportLine(line_id="bare", name="Bare")

    assert "Facts you may quote" not in model_messages(bare, HI)[0]["content"]


def test_the_callers_spelled_ids_are_written_and_the_agents_words_kept() -> None:
    context: list[Message] = [
        {"role": "assistant", "content": "Is it nine oh two one oh?"},
        {"role": "user", "content": "it's O R D seven seven three one five"},
    ]

    shown = model_messages(LINE, context)[1:]

    assert shown == [
        {"role": "assistant", "content": "Is it nine oh two one oh?"},
        {"role": "user", "content": "it's ORD-77315"},
    ]
    assert context[1]["content"] == "it's O R D seven seven three one five"


def test_tool_results_cut_from_their_call_are_dropped() -> None:
    older: list[Message] = [{"role": "user", "content": f"turn {n}"} for n in range(10)]
    call_message: Message = {"role": "assistant", "content": None, "tool_calls": [{"id": "a"}]}
    results: list[Message] = [
        {"role": "tool", "tool_call_id": "a", "content": "{}"},
        {"role": "tool", "tool_call_id": "b", "content": "{}"},
    ]
    recent: list[Message] = [{"role": "user", "content": f"now {n}"} for n in range(38)]
    context = [*older, call_message, *results, *recent]

    shown = model_messages(LINE, context)

    assert shown[1] == recent[0]
    assert shown[1:] == recent
    assert len(shown) - 1 <= MAX_PROMPT_MESSAGES


def test_a_tool_result_with_its_call_is_kept() -> None:
    call_message: Message = {"role": "assistant", "content": None, "tool_calls": [{"id": "a"}]}
    result: Message = {"role": "tool", "tool_call_id": "a", "content": "{}"}

    shown = model_messages(LINE, [*HI, call_message, result])

    assert shown[1:] == [*HI, call_message, result]


def test_instructions_come_last_as_a_system_message() -> None:
    shown = model_messages(LINE, HI, instructions="Offer the survey.")

    assert shown[-1] == {"role": "system", "content": "Offer the survey."}
    assert model_messages(LINE, HI)[-1] == HI[0]


async def test_an_id_the_caller_never_said_is_refused_and_the_model_asked_again() -> None:
    runner = FakeTools()
    llm = ScriptedProvider(
        "llm",
        [call("c1", "order_status", {"order_id": "ORD-55555"})],  # a guess
        [TextDelta("What's your order number?")],
    )

    outputs = without_first_tokens(await turn(make_agent(llm, tools=runner)))

    assert runner.calls == []
    assert says(outputs) == ["What's your order number?"]
    refusal = json.loads(llm.asked[1][-1]["content"])
    assert refusal["status"] == "not_run" and "never guess" in refusal["reason"]


async def test_an_id_spelled_by_the_caller_counts_as_said() -> None:
    runner = FakeTools(ToolOutcome("ok", result={"status": "shipped"}))
    llm = ScriptedProvider(
        "llm", [call("c1", "order_status", {"order_id": "ORD-55210"})], [TextDelta("Shipped.")]
    )
    agent = make_agent(llm, tools=runner)
    spoken = [{"role": "user", "content": "order O R D five five two one zero"}]

    [item async for item in agent.run_turn(spoken, TOOLS)]

    assert [c[2] for c in runner.calls] == [{"order_id": "ORD-55210"}]
