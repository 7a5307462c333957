"""Anger a sentiment lexicon misreads: sarcasm, exasperation, threats to leave."""

from __future__ import annotations

import pytest

from services.session.domain.anger_cues import ANGER_CEILING, shows_anger, with_anger_cues


@pytest.mark.parametrize(
    "text",
    [
        # sarcasm: praise where none is meant
        "Oh marvellous. Wonderful. Another week of waiting.",
        "a voucher. great. brilliant.",
        "perfect, a refund of the postage, just perfect",
        "well that's just great",
        "love that for me",
        "I'm sure a ticket will really fix it",
        "thanks for nothing",
        "just what I needed today",
        "not available. of course it isn't.",
        "yeah, sure you are.",
        # exasperation with the service
        "This is beyond a joke.",
        "what an absolute shambles",
        "honestly this company is a farce",
        "this is so dodgy",
        "it's daylight robbery",
        "you've got to be kidding me",
        "how hard can it be to send a box",
        "for goodness sake",
        "I'm sick to death of this",
        "I've wasted my whole afternoon on this",
        "shocking customer service",
        "you people never call back",
        # threats to leave, complain, or go to the bank
        "I'll be doing a chargeback",
        "I'm disputing the payment",
        "I'm calling my bank about this",
        "I'll take my custom elsewhere",
        "I'll just buy it from someone else",
        "I won't ever be shopping with you again... never using you again",
        "expect a one-star review",
        "I'll be reporting you to trading standards",
        "I want to make a formal complaint",
        "I'm going to tell everyone I know",
    ],
)
def test_anger_the_lexicon_misses(text: str) -> None:
    assert shows_anger(text)


@pytest.mark.parametrize(
    "text",
    [
        "Great, that's fantastic, thanks so much.",
        "Brilliant. Wonderful. I'll order them for my mum, thank you.",
        "perfect, that's just perfect, thank you!",
        "oh, today? great, any idea when?",
        "it's a bit annoying but these things happen",
        "the quality is terrible, to be honest",
        "I'm a bit disappointed with the bedding",
        "that's ridiculously cheap, I'll take two",
        "I'll leave you a good review",
        "I got a scam text pretending to be you",
        "it's just a joke gift for my brother",
        "no joke, it came in a day",
        "hell yeah, nice",
        "damn, that was fast",
        "I'll check with my bank and call back",
        "can I get the same one in blue elsewhere in your range?",
    ],
)
def test_calm_words_that_look_alike(text: str) -> None:
    assert not shows_anger(text)


def test_a_cue_lowers_the_score_to_the_ceiling_and_never_raises_it() -> None:
    assert with_anger_cues("a note. great. fantastic.", 0.89) == ANGER_CEILING
    assert with_anger_cues("this is a total shambles", -0.9) == -0.9
    assert with_anger_cues("great, thanks", 0.8) == 0.8
