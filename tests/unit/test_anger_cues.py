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
        # sarcasm, round 3
        "oh brilliant, so i pay more for the same rubbish. genius. honestly genius",
        "funny how there's a discount now i'm leaving, isn't it",
        "no? thought not",
        "yeah sure, whatever, and i'll just sleep on the floor then shall i",
        "fantastic service, really top notch",
        "three weeks on the floor, honestly, amazing, well done",
        "Oh great, another delay. Just great.",
        "Typical.",
        "Yeah right.",
        # exasperation: formal, elderly, blunt, second-language
        "seriously what is the point",
        "two euros fifty, jesus.",
        "don't bother.",
        "This is simply not good enough.",
        "I am appalled at how I've been treated.",
        "I've been a customer for thirty years and this is how you treat me.",
        "Shame on you.",
        "You are useless.",
        "This insurance is worthless, you never pay out.",
        "Very bad service, I am angry.",
        "Nobody listens. Nobody cares.",
        "No. Not acceptable.",
        "Fix it. Today.",
        "I am extremely dissatisfied with how my claim has been handled.",
        "Frankly, I expected far better from a company of your size.",
        # threats to leave or take it further
        "i'm cutting this card up and going to a different bank",
        "I'll be switching insurers.",
        "You've just lost a customer.",
        "I'll never stay at your hotel again.",
        "I shall be taking this further.",
        "I will be writing to your chief executive.",
        "I'll report this to the regulator.",
        "i'm ringing my card company and doing a charge back on the whole lot",
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
        "Oh lovely, lovely. That's sorted then.",
        "Great, great. So the engineer comes on Tuesday?",
        "Whatever time suits the engineer is fine.",
        "I'm moving house, do I need to switch supplier?",
        "Can I change to a different room?",
        "I thought so, thank you.",
        "Really? That's quicker than I expected.",
        "I'm not angry, I just want to understand the bill.",
        "i'm not furious or anything, it's just cold",
        "Don't bother with the paper copy, email is fine.",
        "The service was excellent last time.",
        "Can you fix it today?",
    ],
)
def test_calm_words_that_look_alike(text: str) -> None:
    assert not shows_anger(text)


def test_a_cue_lowers_the_score_to_the_ceiling_and_never_raises_it() -> None:
    assert with_anger_cues("a note. great. fantastic.", 0.89) == ANGER_CEILING
    assert with_anger_cues("this is a total shambles", -0.9) == -0.9
    assert with_anger_cues("great, thanks", 0.8) == 0.8
