"""The caller's side of a loop: corrections, loop complaints and words spelled out again."""

from __future__ import annotations

import pytest

from services.session.domain.loop_cues import (
    is_correction,
    is_loop_complaint,
    spelled_out,
    stems,
)
from services.session.domain.repeats import Repeats


@pytest.mark.parametrize(
    "text",
    [
        "no no, not the contract, only the sports add on thing",
        "not broadband, not tv. the sports channels. sports.",
        "not picture, sound",
        "ok but it's a cat, not a bag, like a pet, in a carrier",
        "no, golden wok is fine, it's the address, i need to change the address",
        "no! do not confirm. fourteen.",
        "No, that is not what I requested.",
        "No, that's wrong, it's the other policy.",
        "You misheard me, I said fifteen not fifty.",
        "You do not seem to understand my question.",
        "you not understand me",
        "I didn't ask for an upgrade.",
    ],
)
def test_corrections(text: str) -> None:
    assert is_correction(text)


@pytest.mark.parametrize(
    "text",
    [
        "Not the main bedroom, the small one has the leak.",
        "It's a hire car, not mine.",
        "It's a gift, not for me.",
        "Not sure, the receipt's gone.",
        "Not today, maybe tomorrow.",
        "I said to my husband we should call.",
        "I meant to ask, is breakfast included?",
        "Do not disconnect, I'm still here.",
        "No, not yet, the engineer hasn't come.",
    ],
)
def test_answers_and_asides_are_not_corrections(text: str) -> None:
    assert not is_correction(text)


@pytest.mark.parametrize(
    "text",
    [
        "you're not listening, i'm keeping the contract. this is going nowhere",
        "ok this is like talking to a wall, three times now i've asked about the cat",
        "the driver's gonna go to my old place in ten minutes, this is not helping at all",
        "I have stated this several times now.",
        "I've given you my policy number twice already.",
        "For the third time, the booking is for Friday.",
        "I keep telling you it's the upstairs flat.",
        "I am repeating myself.",
        "You asked me that already.",
        "What did I just say?",
        "Listen to what I'm saying.",
        "Back to square one.",
        "same questions every time and then it blocks again",
    ],
)
def test_loop_complaints(text: str) -> None:
    assert is_loop_complaint(text)


@pytest.mark.parametrize(
    "text",
    [
        "For the third time this year the boiler has broken, can you send someone?",
        "You're not helping me with the luggage then? That's fine.",
        "I just did the reading this morning.",
        "We've done this before with your colleague and it worked.",
        "The same error comes up every time I turn it on.",
        "The TV is stuck on the logo screen.",
        "I told my daughter already, she'll bring the documents.",
    ],
)
def test_what_a_loop_complaint_is_not(text: str) -> None:
    assert not is_loop_complaint(text)


def test_words_spelled_out_in_short_fragments() -> None:
    assert spelled_out("uh, no. address. delivery address. mill lane") == {"addres"}
    assert spelled_out("fourteen. one four. june fourteen") == {"fourte"}
    assert not spelled_out("Smith. Mrs Smith.")  # two fragments: a careful answer
    assert not spelled_out("Yes. Yes please. Yes.")  # fillers
    assert not spelled_out("I need the address changed. The delivery address. Mill Lane.")
    assert "fourte" in stems("I need the fourteenth")


def test_a_word_spelled_out_is_a_repeat_only_when_said_before() -> None:
    said = Repeats()
    assert not said.caller("Twenty. Twenty pounds. Yes.")  # not said before: an answer
    assert not said.caller("my soundbar has no sound when the tv is on")
    assert said.caller("picture is ok. soundbar. the soundbar. no sound")
