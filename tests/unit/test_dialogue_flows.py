"""The deterministic flow provider: intents, slots, tool calls and answers from the line's YAML."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.gateway.dialogue.base import (
    DialogueOutput,
    EndCall,
    Message,
    TextDelta,
    ToolCallRequest,
)
from services.gateway.dialogue.flows import NOT_UNDERSTOOD, FlowProvider, extractor, render
from shared.lines import Flow, FlowSlot, SupportLine, ToolSpec, load_lines

DEMO = load_lines()["demo-retail"]
ORDER_ASK = "Sure, I can check that. What's your order number? It starts with O R D."
CANCEL_ASK = "I can help cancel it. What's the order number? It starts with O R D."


def user(text: str) -> Message:
    return {"role": "user", "content": text}


def agent(text: str) -> Message:
    return {"role": "assistant", "content": text}


def tool_call(call: ToolCallRequest) -> Message:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
        ],
    }


def tool_result(call_id: str, content: str) -> Message:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def ok(result: Any) -> str:
    return json.dumps({"status": "ok", "result": result})


def said(outputs: list[DialogueOutput]) -> str:
    """The answer's text (a goodbye flow's hang-up after it is checked on its own)."""
    outputs = [o for o in outputs if not isinstance(o, EndCall)]
    assert len(outputs) == 1 and isinstance(outputs[0], TextDelta), outputs
    return outputs[0].text


def called(outputs: list[DialogueOutput]) -> ToolCallRequest:
    assert len(outputs) == 1 and isinstance(outputs[0], ToolCallRequest), outputs
    return outputs[0]


def converse(provider: FlowProvider, *turns: str) -> tuple[list[Message], list[DialogueOutput]]:
    """The caller says each turn; the agent answers each with the provider's question."""
    messages: list[Message] = []
    outputs: list[DialogueOutput] = []
    for turn in turns:
        messages.append(user(turn))
        outputs = provider.next_outputs(messages)
        if len(outputs) == 1 and isinstance(outputs[0], TextDelta):
            messages.append(agent(outputs[0].text))
    return messages, outputs


def small_line(*flows: Flow, tools: tuple[str, ...] = ("lookup",)) -> SupportLine:
    return SupportLine(
        line_id="small",
        name="Small",
        policies={"hours": "Nine to five."},
        tools=[ToolSpec(name=name, description=f"the {name} tool") for name in tools],
        flows=list(flows),
    )


# -- choosing a flow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "answer"),
    [
        # "order" also matches order_status further down: the first flow wins.
        ("I want to talk to a person about my order", "member of our support team"),
        ("please cancel my order", CANCEL_ASK),
        ("where is my package", ORDER_ASK),
        ("What are your hours?", DEMO.policies["hours"]),
        ("thanks, bye", "Goodbye!"),
        ("hello there", "What do you need?"),
    ],
)
def test_the_first_matching_flow_answers(caller: str, answer: str) -> None:
    assert answer in said(FlowProvider(DEMO).next_outputs([user(caller)]))


def test_a_goodbye_flow_ends_the_call_after_its_answer_and_others_do_not() -> None:
    goodbye = FlowProvider(DEMO).next_outputs([user("thanks, bye")])
    assert isinstance(goodbye[0], TextDelta) and goodbye[-1] == EndCall()
    assert EndCall() not in FlowProvider(DEMO).next_outputs([user("what are your hours?")])


def test_a_flow_without_a_tool_says_its_policy() -> None:
    assert (
        said(FlowProvider(DEMO).next_outputs([user("when do you open?")]))
        == (DEMO.policies["hours"])
    )


def test_the_order_of_flows_in_the_line_decides_ties() -> None:
    first = Flow(intent="first", match=["help"], say="first answer")
    second = Flow(intent="second", match=["help"], say="second answer")

    assert said(FlowProvider(small_line(first, second)).next_outputs([user("help")])) == (
        "first answer"
    )
    assert said(FlowProvider(small_line(second, first)).next_outputs([user("help")])) == (
        "second answer"
    )


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [user("what is the meaning of life")],
        [agent("Hi, how can I help?")],
    ],
)
def test_the_fallback_phrase_when_nothing_matches(messages: list[Message]) -> None:
    assert said(FlowProvider(DEMO).next_outputs(messages)) == NOT_UNDERSTOOD


def test_the_fallback_phrase_is_the_lines_choice() -> None:
    provider = FlowProvider(DEMO, fallback="I only know about orders.")

    assert said(provider.next_outputs([user("sing me a song")])) == "I only know about orders."


def test_a_finished_flow_does_not_capture_the_next_turn() -> None:
    messages = [user("what are your hours"), agent(DEMO.policies["hours"]), user("blue")]

    assert said(FlowProvider(DEMO).next_outputs(messages)) == NOT_UNDERSTOOD


# -- slots --------------------------------------------------------------------------------------


def test_a_missing_slot_is_asked_for() -> None:
    assert said(FlowProvider(DEMO).next_outputs([user("where's my package?")])) == ORDER_ASK


def test_a_slot_said_with_the_intent_calls_the_tool_at_once() -> None:
    call = called(
        FlowProvider(DEMO).next_outputs([user("cancel order O R D seven seven three one five")])
    )

    assert call.name == "cancel_order"
    assert json.loads(call.arguments) == {"order_id": "ORD-77315"}
    assert call.id.startswith("flow_cancel_order_")


def test_the_answer_to_the_question_fills_the_slot() -> None:
    _, outputs = converse(FlowProvider(DEMO), "where is my package", "O R D seven seven 3 1 5")

    call = called(outputs)
    assert call.name == "order_status"
    assert json.loads(call.arguments) == {"order_id": "ORD-77315"}


def test_an_answer_without_the_slot_is_asked_again() -> None:
    _, outputs = converse(FlowProvider(DEMO), "where is my package", "I don't know it")

    assert said(outputs) == ORDER_ASK


def test_slots_are_gathered_over_several_turns() -> None:
    provider = FlowProvider(DEMO)
    messages, outputs = converse(provider, "I'd like to return something")
    assert "order number" in said(outputs)

    messages.append(user("it's ORD-77315"))
    assert "reason for the return" in said(provider.next_outputs(messages))

    messages += [agent(said(provider.next_outputs(messages))), user("it arrived broken")]
    call = called(provider.next_outputs(messages))
    assert call.name == "start_return"
    assert json.loads(call.arguments) == {"order_id": "ORD-77315", "reason": "damaged"}


def test_two_callers_in_two_conversations_do_not_share_slots() -> None:
    provider = FlowProvider(DEMO)
    converse(provider, "cancel my order", "ORD-11111")

    _, outputs = converse(provider, "cancel my order")

    assert said(outputs) == CANCEL_ASK


def test_text_slots_take_the_direct_answer_to_their_question() -> None:
    _, outputs = converse(
        FlowProvider(DEMO),
        "I need to change the shipping address on my order",
        "ORD-55210",
        "42 Elm Street",
        "Portland",
        "Oregon",
        "nine seven two oh five",
    )

    call = called(outputs)
    assert call.name == "change_shipping_address"
    assert json.loads(call.arguments) == {
        "order_id": "ORD-55210",
        "street": "42 Elm Street",
        "city": "Portland",
        "state": "Oregon",
        "zip": "97205",
    }


def test_a_text_slot_is_asked_even_when_the_intent_was_said_in_words() -> None:
    _, outputs = converse(FlowProvider(DEMO), "change the address for ORD-77315")

    assert said(outputs) == "What's the new street address?"


def test_a_zip_is_never_the_digits_of_an_order_id() -> None:
    provider = FlowProvider(DEMO)
    messages, _ = converse(provider, "change the address for ORD-77315")
    for answer in ("1 Main Street", "Boston", "Massachusetts"):
        messages.append(user(answer))
        messages.append(agent(said(provider.next_outputs(messages))))

    assert messages[-1]["content"] == "And the zip code?"


def test_answering_a_flows_question_does_not_switch_the_flow() -> None:
    _, outputs = converse(
        FlowProvider(DEMO), "please cancel my order", "my order number is ORD-77315"
    )

    assert called(outputs).name == "cancel_order"


# -- tool calls and answers ---------------------------------------------------------------------


CALLBACK = Flow(
    intent="callback",
    match=[r"\bcall me\b"],
    slots=[
        FlowSlot(name="phone", extract="phone", ask="What number should we call?"),
        FlowSlot(name="when", extract="choice:morning=morning|am;evening=evening|pm", ask="When?"),
    ],
    tool="book",
    arguments={"number": "+1{phone}", "note": "call in the {when}", "missing": "{nope}"},
    say="Booked for {result.slot.day}. {policy.hours}",
    say_error="Booking failed.",
)


def test_the_tool_arguments_are_json_from_the_templates() -> None:
    provider = FlowProvider(small_line(CALLBACK, tools=("book",)))

    call = called(provider.next_outputs([user("call me at 555 123 4567 in the morning")]))

    assert call.name == "book"
    assert json.loads(call.arguments) == {
        "number": "+15551234567",
        "note": "call in the morning",
        "missing": "",
    }


def _after(provider: FlowProvider, caller: str, content: str) -> list[DialogueOutput]:
    first = [user(caller)]
    call = called(provider.next_outputs(first))
    return provider.next_outputs([*first, tool_call(call), tool_result(call.id, content)])


def test_the_tool_result_fills_the_answer() -> None:
    provider = FlowProvider(small_line(CALLBACK, tools=("book",)))

    answer = said(
        _after(provider, "call me at 5551234567 tonight pm", ok({"slot": {"day": "Mon"}}))
    )

    assert answer == "Booked for Mon. Nine to five."


def test_the_answer_repeats_the_slots_the_tool_was_called_with() -> None:
    flow = Flow(
        intent="status",
        match=["status"],
        slots=[FlowSlot(name="order_id", extract="order_id", ask="Which order?")],
        tool="lookup",
        say="{order_id} is {result.state}.",
    )

    answer = said(
        _after(FlowProvider(small_line(flow)), "status of ORD-12345", ok({"state": "late"}))
    )

    assert answer == "ORD-12345 is late."


def test_the_answer_repeats_slots_when_arguments_are_renamed() -> None:
    flow = CALLBACK.model_copy(update={"say": "We'll call {phone} in the {when}."})
    provider = FlowProvider(small_line(flow, tools=("book",)))

    answer = said(_after(provider, "call me at 5551234567 tonight pm", ok({})))

    assert answer == "We'll call 5551234567 in the evening."


def test_a_client_tool_answering_with_a_json_string_fills_the_answer() -> None:
    provider = FlowProvider(small_line(CALLBACK, tools=("book",)))
    as_string = ok(json.dumps({"slot": {"day": "Tuesday"}}))

    answer = said(_after(provider, "call me on 5551234567 morning", as_string))

    assert answer == "Booked for Tuesday. Nine to five."


def test_a_client_tool_answering_with_plain_text_leaves_the_field_empty() -> None:
    provider = FlowProvider(small_line(CALLBACK, tools=("book",)))

    answer = said(_after(provider, "call me on 5551234567 morning", ok("booked!")))

    assert answer == "Booked for . Nine to five."


def test_the_demo_line_says_the_tool_results_summary() -> None:
    provider = FlowProvider(DEMO)
    summary = "Order ORD-77315 shipped on Monday."

    answer = said(_after(provider, "where is ORD-77315", ok({"summary": summary, "x": 1})))

    assert answer == summary


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"status": "error", "error": "crm down"}),
        json.dumps({"status": "timeout", "error": "timeout"}),
        "not json at all",
        json.dumps(["ok"]),
    ],
)
def test_a_failed_tool_says_the_flows_error_phrase(content: str) -> None:
    provider = FlowProvider(small_line(CALLBACK, tools=("book",)))

    assert said(_after(provider, "call me at 5551234567 in the evening", content)) == (
        "Booking failed."
    )


def test_the_demo_lines_error_phrase_is_its_default() -> None:
    answer = said(_after(FlowProvider(DEMO), "cancel ORD-77315", '{"status": "error"}'))

    assert answer == DEMO.flows[1].say_error


def test_a_result_of_a_call_the_flows_did_not_make_is_said_by_its_summary_or_not_at_all() -> None:
    messages = [
        user("where is ORD-77315"),
        tool_call(ToolCallRequest("call_abc123", "order_status", "{}")),
        tool_result("call_abc123", ok({"summary": "Shipped."})),
    ]
    no_summary = [*messages[:2], tool_result("call_abc123", ok({"status": "shipped"}))]

    assert said(FlowProvider(DEMO).next_outputs(messages)) == "Shipped."
    assert said(FlowProvider(DEMO).next_outputs(no_summary)) == NOT_UNDERSTOOD


def test_a_result_goes_back_to_the_flow_that_called_the_tool() -> None:
    general = Flow(intent="order", match=["never said"], tool="lookup", say="general {result.m}")
    status = Flow(intent="order_status", match=["status"], tool="lookup", say="status {result.m}")

    answer = said(_after(FlowProvider(small_line(general, status)), "status please", ok({"m": 1})))

    assert answer == "status 1"


async def test_stream_yields_the_next_outputs() -> None:
    provider = FlowProvider(DEMO)

    outputs = [o async for o in provider.stream([user("hello")], [], max_tokens=16)]
    await provider.aclose()

    assert said(outputs).startswith("Hello!")


# -- render and extractors ---------------------------------------------------------------------


def test_render_fills_slots_results_and_policies_and_blanks_the_rest() -> None:
    text = render(
        "{name}: {result.order.status} {result.items} {result.none.deeper} {policy.hours} {x}.",
        {"name": "Ada"},
        {"order": {"status": "shipped"}, "items": [1, 2]},
        {"hours": "9-5"},
    )

    assert text == "Ada: shipped 9-5 ."


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        ("order_id", "it's ord seven seven three one five", "ORD-77315"),
        ("order_id", "order 123", None),
        ("customer_id", "I'm CUS-001234", "CUS-001234"),
        ("email", "mail ada.l+x@example.co.uk please", "ada.l+x@example.co.uk"),
        ("phone", "call (555) 123-4567", "5551234567"),
        ("phone", "room 12", None),
        ("zip", "nine oh two one oh", "90210"),
        ("zip", "90210-1234", "90210-1234"),
        ("zip", "for ORD-55210", None),
        ("text", "  42 Elm Street ", "42 Elm Street"),
        ("text", "   ", None),
        ("choice:yes=\\byes\\b|yep;no=\\bno\\b|nope", "yep, sure", "yes"),
        ("choice:yes=\\byes\\b|yep;no=\\bno\\b|nope", "NOPE", "no"),
        ("choice:yes=\\byes\\b|yep;no=\\bno\\b|nope", "maybe", None),
        (r"size (\w+)", "Size Large please", "Large"),
        (r"small|large", "the LARGE one", "LARGE"),
        (r"small|large", "medium", None),
    ],
)
def test_extractors(spec: str, text: str, value: str | None) -> None:
    assert extractor(spec)(text) == value


def test_a_pinned_flow_takes_the_turn_from_the_model_and_others_do_not() -> None:
    line = load_lines()["demo-retail"]
    flows = FlowProvider(line)

    assert flows.takes_turn([{"role": "user", "content": "let me talk to a person"}])
    assert not flows.takes_turn([{"role": "user", "content": "where is ORD-77315"}])
    assert not flows.takes_turn([])


def test_the_dialogue_service_hands_a_pinned_turn_to_the_flows() -> None:
    from services.gateway.dialogue.service import DialogueService

    line = load_lines()["demo-retail"]
    model = FlowProvider(line)  # stands in for the model: only its identity matters here
    service = DialogueService(llm=model, tool_client=None)  # type: ignore[arg-type]

    person, _ = service.agent_for(line, {}, "sess_1", [{"role": "user", "content": "a human!"}])
    status, _ = service.agent_for(line, {}, "sess_1", [{"role": "user", "content": "my order"}])

    assert person.primary is not model and person.primary.name == "flow"
    assert status.primary is model


def test_a_result_of_the_models_own_call_is_said_from_its_summary() -> None:
    # The model called a tool, then failed: the flows take the turn and say what it returned.
    flows = FlowProvider(load_lines()["demo-retail"])
    arguments = json.dumps({"order_id": "ORD-77315"})
    call = {
        "id": "call_llm_1",
        "type": "function",
        "function": {"name": "order_status", "arguments": arguments},
    }
    result = {"status": "ok", "result": {"summary": "Order ORD-77315 is in transit."}}
    messages: list[Message] = [
        {"role": "user", "content": "where is ORD-77315"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_llm_1", "content": json.dumps(result)},
    ]

    assert flows.next_outputs(messages) == [TextDelta("Order ORD-77315 is in transit.")]
    failed = {**messages[2], "content": json.dumps({"status": "timeout", "error": "late"})}
    (said,) = flows.next_outputs([*messages[:2], failed])
    assert isinstance(said, TextDelta) and "couldn't reach our system" in said.text
