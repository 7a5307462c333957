"""The real sentiment scorer and profanity counter (models from installed packages, no hub)."""

from __future__ import annotations

import threading

import pytest

from services.session.adapters.better_profanity_counter import BetterProfanityCounter
from services.session.adapters.minilm_sentiment import (
    MAX_CHARS,
    Nearness,
    VaderMiniLmSentimentScorer,
    VaderSentimentScorer,
    combine,
)

HEADPHONES = "these headphones broke after a week, which is annoying; how do I get a replacement?"
RIDICULOUS = "this is ridiculous, I've called three times and nobody fixes anything!!"


@pytest.fixture(scope="module")
def scorer() -> VaderMiniLmSentimentScorer:
    return VaderMiniLmSentimentScorer()


def test_a_calm_complaint_is_not_anger_but_frustration_is(
    scorer: VaderMiniLmSentimentScorer,
) -> None:
    lexicon = VaderSentimentScorer()
    assert lexicon.score(HEADPHONES) < -0.5  # what the lexicon alone gets wrong

    assert scorer.score(HEADPHONES) > -0.35
    assert scorer.score(RIDICULOUS) <= -0.5
    assert scorer.score(HEADPHONES) - scorer.score(RIDICULOUS) > 0.3


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Thanks, that's perfect.", 0.3, 1.0),
        ("ORD 12345", -0.1, 0.1),
        ("The zipper on my jacket broke, can I return it?", -0.35, 0.3),
        ("I'm so sick of this, nobody here ever helps me.", -1.0, -0.45),
        ("", 0.0, 0.0),
    ],
)
def test_scores_fall_where_expected(
    scorer: VaderMiniLmSentimentScorer, text: str, low: float, high: float
) -> None:
    assert low <= scorer.score(text) <= high


def test_long_text_is_cut_and_scores_stay_in_range(scorer: VaderMiniLmSentimentScorer) -> None:
    long = "terrible awful " * MAX_CHARS
    assert -1.0 <= scorer.score(long) <= 1.0
    assert scorer.score(long) == scorer.score(long[:MAX_CHARS])


def test_scoring_is_thread_safe(scorer: VaderMiniLmSentimentScorer) -> None:
    expected = {t: scorer.score(t) for t in (HEADPHONES, RIDICULOUS)}
    results: list[bool] = []

    def work(text: str) -> None:
        results.extend(scorer.score(text) == expected[text] for _ in range(5))

    threads = [threading.Thread(target=work, args=(t,)) for t in list(expected) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 30 and all(results)


def test_combine_dampens_complaints_and_floors_frustration() -> None:
    calm = Nearness(frustrated=0.2, calm=0.6, positive=0.1)
    angry = Nearness(frustrated=0.6, calm=0.2, positive=0.1)
    assert combine(-0.9, calm) == pytest.approx(-0.9 * 0.35)
    assert combine(0.0, angry) == pytest.approx(-0.6)
    assert combine(0.8, angry) == pytest.approx(-0.6)  # sarcasm loses its positive words
    assert combine(-0.9, angry) == pytest.approx(-0.9)
    assert combine(0.0, angry, words=1) > -0.2  # one word says little


def test_profanity_counts_swearing_not_look_alikes() -> None:
    counter = BetterProfanityCounter()

    assert counter.count("this is fucking useless") == 1
    assert counter.count("bullshit, total bullshit") == 2
    assert counter.count("this is sh1t") == 1  # leetspeak, from the library
    assert counter.count("give me my f***ing money, this s*** is a scam") == 2  # STT-masked
    assert counter.count("oh my god, damn, the maxi dress and the door knob") == 0
    assert counter.count("size XX L, the screw is loose") == 0
    assert counter.count(HEADPHONES) == 0
