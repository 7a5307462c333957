"""Requests for a person, agent fallbacks and repeats, read from one utterance."""

from __future__ import annotations

import pytest

from services.session.domain.cues import (
    agent_question,
    agent_statement,
    caller_statement,
    is_fallback_reply,
    same,
)
from services.session.domain.loop_cues import is_correction, is_loop_complaint
from services.session.domain.person_cues import asks_for_person


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
        # asked about, or wished for, in other words
        "is there a supervisor around I could have a word with?",
        "Are there any people there I can speak with?",
        "I'd sooner sort it out with a person, if that's okay",
        "honestly I'd rather deal with someone on your team",
        "can I get a manager please",
        "could I be transferred to billing",
        "I'd like to be put through, thanks",
        "pass me over to one of your colleagues",
        "get your boss on the phone",
        "let me speak to whoever is in charge",
        "I want a real live person",
        "do you have staff there? real ones? I'd like one",
        "have you got any actual humans working there",
        "you have support people, right? I want to talk to one of them",
        # passed on, formally, bluntly, or in a second language
        "can you pass me to your colleague at the baggage desk",
        "you can give me to other person please, the one who is working there, real one",
        "a fee to sit next to my six year old, no. supervisor please",
        "Manager. Now.",
        "Kindly refer me to a supervisor.",
        "Would it be possible to be put in contact with a colleague of yours?",
        "I insist on speaking to a manager.",
        "Any chance of speaking to an actual person?",
        "I'd like this escalated to a supervisor.",
        "I want speak with human.",
        "You can connect with operator please?",
        "Put a real person on, please.",
        "No more robots please.",
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
        "I thought I'd have to get transferred to a human for that, but no, all sorted",
        "can another person sign for it, like my flatmate?",
        "do I need someone to be home for the delivery?",
        "I'll have someone at home to take it in",
        "do you have customer service hours on Sundays?",
        "can you put me down for the Tuesday slot?",
        "are these real ones or fake leather?",
        "am I talking to a real person?",
        "I had to deal with a rude driver last time",
        "I'm the kit representative for our club",
        "I need someone to come out and look at the boiler.",
        "I need the other person's name on the booking as well.",
        "My husband will speak to the manager at the hotel tomorrow.",
        "Do I have to deal with a person at the counter when I pick up the car?",
        "Could you refer me to the terms and conditions?",
        "Transfer.",
        "The manager.",
        "I'd like to transfer the policy to my daughter.",
        "Can I put my wife on the policy?",
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
    assert is_fallback_reply("I'm afraid I can't help with that.")
    assert is_fallback_reply("Unfortunately I'm unable to assist with that request.")
    assert is_fallback_reply("I can only help with bookings and payments.")
    assert not is_fallback_reply("Unfortunately the earliest slot is Friday.")


def test_questions_and_statements_for_repeats() -> None:
    first = agent_question("Sorry, I couldn't find that. What's your order number?")
    again = agent_question("What is your order number, please?")
    assert first and again and same(first, "what s your order number")
    assert agent_question("Done. Is there anything else I can help with?") is None
    assert agent_question("Your order has shipped.") is None
    assert caller_statement("yes") is None
    assert caller_statement("ORD 123") == "ord 123"
    assert not same("i want a refund for my order", "where is my order right now")


@pytest.mark.parametrize(
    "text",
    [
        "no, don't cancel it, I want to add to it",
        "NO. do not refund it",
        "stop, don't send anything",
        "no, not a refund, an exchange",
        "no no, not the red one, the blue one",
        "that's not what I asked",
        "I said Tuesday, not Thursday",
        "I never asked for a refund",
        "you've got it wrong",
        "as I said, it's the second order",
        "you're not understanding me",
    ],
)
def test_corrections(text: str) -> None:
    assert is_correction(text)


@pytest.mark.parametrize(
    "text",
    [
        "no, not yet, I'll check tonight",
        "No, that's everything, thanks",
        "no, not there. still nothing",
        "no, the other one",
        "don't worry about it",
        "nope, that's it",
    ],
)
def test_answers_that_are_not_corrections(text: str) -> None:
    assert not is_correction(text)


@pytest.mark.parametrize(
    "text",
    [
        "you keep telling me the same thing",
        "we're going round in circles",
        "round and round we go",
        "I've told you three times already",
        "I already told you that",
        "I just did",
        "how many more times",
        "are you even listening?",
        "is any of this getting through",
        "are you stuck?",
        "we've been over this",
    ],
)
def test_loop_complaints(text: str) -> None:
    assert is_loop_complaint(text)


def test_what_a_loop_complaint_is_not() -> None:
    assert not is_loop_complaint("the email just said twenty percent off")
    assert not is_loop_complaint("I told my wife it would come today")
    assert not is_loop_complaint("the parcel is stuck in customs")  # stuck, but not the agent


def test_agent_statements_drop_routine_questions_fallbacks_and_pleasantries() -> None:
    said = agent_statement(
        "Sorry, I didn't get that. Our returns policy is on the website. Anything else?"
    )
    assert said == "our returns policy is on the website"
    assert agent_statement("I'm sorry. Is there anything else I can help with?") is None
    assert agent_statement("Sorry, I didn't catch that. Could you say it again?") is None
    phrase = "let me try another way"
    assert agent_statement("Let me try another way.", fallback_phrase=phrase) is None
