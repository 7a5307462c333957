"""The real sentiment scorer and profanity counter (models from installed packages, no hub)."""

from __future__ import annotations

import threading

import pytest
from better_profanity import Profanity
from better_profanity.constants import ALLOWED_CHARACTERS

from services.session.adapters.better_profanity_counter import (
    NOT_SWEARING,
    BetterProfanityCounter,
)
from services.session.adapters.minilm_sentiment import (
    MAX_CHARS,
    MiniLmSentenceEmbedder,
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


def test_the_compiled_counter_finds_what_the_library_finds() -> None:
    library = Profanity()
    library.load_censor_words(whitelist_words=sorted(NOT_SWEARING))
    counter = BetterProfanityCounter()
    # Entries the library's word splitting can never match ("sh!+") are left out here; the
    # compiled pattern matches them as listed.
    spelled = ALLOWED_CHARACTERS | set(" -_.")
    words = sorted(w for w in map(str, library.CENSOR_WORDSET) if set(w) <= spelled)
    texts = [
        *(f"well {word}, that is it" for word in words[::7]),
        *(f"{word.upper()}!" for word in words[3::11]),
        "this is B@STARD stuff and a$$hole behaviour, 5hit",
        "blow job and a blowjob",  # an entry of two words, and of one
        "oh my god, damn, hell, the maxi dress, the door knob, crap",
        "Scunthorpe, assessment, class, grass, cocktail, shitake",
    ]
    assert counter.count("well sh!+, that is it") == 1
    for text in texts:
        expected = str(library.censor(text, "\u2588")).count("\u2588" * 4)
        assert counter.count(text) == expected, text


def test_sentence_embeddings_tell_the_same_thing_said_again() -> None:
    embedder = MiniLmSentenceEmbedder(VaderMiniLmSentimentScorer()._encoder)

    def cosine(a: str, b: str) -> float:
        return sum(x * y for x, y in zip(embedder.embed(a), embedder.embed(b), strict=True))

    policy = "our returns policy is available at example dot com slash returns"
    assert cosine(policy, policy) == pytest.approx(1.0, abs=1e-4)  # unit length
    assert (
        cosine(policy, "for details on returns please visit example dot com slash returns") > 0.75
    )
    assert cosine("it arrives tomorrow", "that one arrived on monday") < 0.75
