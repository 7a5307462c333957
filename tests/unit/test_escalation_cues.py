"""Requests for a person, agent fallbacks and repeats, read from one utterance."""

from __future__ import annotations

import pytest

from services.session.domain.cues import (
    agent_question,
    asks_for_person,
    caller_statement,
    is_fallback_reply,
    same,
)


@pytest.mark.parametrize(
    "text",
    [
        "Can I speak to a person please?",
        "I want to talk to a human",
        "Agent!",
        "Representative.",
        "operator, operator",
        "Let me talk to someone real",
        "Get me a manager",
        "Transfer me to a real person now",
        "I need a human being",
        "I don\u2019t want to talk to a robot",
        "Is there a person I can talk to?",
        "Put me through to customer service",
        "I would like to speak with your supervisor",
        "connect me with an agent",
        "Escalate this please",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert asks_for_person(text)


@pytest.mark.parametrize(
    "text",
    [
        "The delivery person left it outside",
        "My manager asked me to call about an invoice",
        "Is this a human?",
        "Are you a real person?",
        "I spoke to an agent yesterday",
        "Can I pick it up in person?",
        "No need to transfer me, thanks",
        "I don't need to speak to anyone",
        "The agent told me it would arrive Monday",
        "I need to talk to my wife first",
        "The robot vacuum I ordered is broken",
        "Who is the best person to ask about returns?",
    ],
)
def test_look_alikes_are_not_requests(text: str) -> None:
    assert not asks_for_person(text)


def test_fallback_replies() -> None:
    assert is_fallback_reply("Sorry, I didn't catch that. Could you say it again?")
    assert is_fallback_reply("I'm not sure I understand.")
    assert is_fallback_reply("Let me try another way.", fallback_phrase="let me try ANOTHER way")
    assert not is_fallback_reply("Sorry about the wait! Your order ships tomorrow.")
    assert not is_fallback_reply("Your order has shipped.")


def test_questions_and_statements_for_repeats() -> None:
    first = agent_question("Sorry, I couldn't find that. What's your order number?")
    again = agent_question("What is your order number, please?")
    assert first and again and same(first, "what s your order number")
    assert agent_question("Done. Is there anything else I can help with?") is None
    assert agent_question("Your order has shipped.") is None
    assert caller_statement("yes") is None
    assert caller_statement("ORD 123") == "ord 123"
    assert not same("i want a refund for my order", "where is my order right now")
