"""The semantic caller-cue detector on the real encoder (model from installed packages)."""

from __future__ import annotations

import numpy as np
import pytest

from services.session.adapters.minilm_caller_cues import (
    PERSON_MARGIN,
    PERSON_MIN,
    MiniLmCallerCues,
    clauses,
)
from services.session.adapters.minilm_sentiment import (
    MiniLmEncoder,
    VaderMiniLmSentimentScorer,
    Vector,
)
from services.session.domain.loop_cues import is_loop_complaint
from services.session.domain.person_cues import asks_for_person


class CountingEncoder(MiniLmEncoder):
    """The real encoder, counting the texts it runs the model on."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def _embed_batch(self, texts: list[str]) -> list[Vector]:
        self.ran.extend(texts)
        return super()._embed_batch(texts)


@pytest.fixture(scope="module")
def encoder() -> CountingEncoder:
    return CountingEncoder()


@pytest.fixture(scope="module")
def cues(encoder: CountingEncoder) -> MiniLmCallerCues:
    return MiniLmCallerCues(encoder)


# Requests in phrasings the text rules do not name (checked below) and no anchor repeats.
# Not every such phrasing is read: "can a real human look at this please?" and "could I have
# one of your people look at this?" are not (docs/handoff.md, known limits).
UNNAMED_REQUESTS = (
    "I would appreciate it if a member of your staff could review my case.",
    "please, somebody from your company, I need them to call me",
)


@pytest.mark.parametrize("text", UNNAMED_REQUESTS)
def test_requests_no_text_rule_names_are_read(cues: MiniLmCallerCues, text: str) -> None:
    assert not asks_for_person(text)  # the point: only the model reads these
    assert cues.read(text).asks_for_person


@pytest.mark.parametrize(
    "text",
    [
        "Is this a real person?",
        "The delivery person was really nice, by the way.",
        "My manager asked me to call about the invoice.",
        "I don't need a human, just the balance please.",
        "Someone needs to come out and fix the boiler.",
        "Do I need someone to sign for it?",
        "Can another driver be added to the booking?",
        "I'm the account manager for our office.",
        "I spoke to one of your agents yesterday and she was helpful.",
    ],
)
def test_look_alikes_are_not_requests(cues: MiniLmCallerCues, text: str) -> None:
    assert not cues.read(text).asks_for_person


def test_loop_complaints_and_their_look_alikes(cues: MiniLmCallerCues) -> None:
    complaint = "I've now explained it three different ways and you still don't get it."
    assert not is_loop_complaint(complaint)
    assert cues.read(complaint).loop_complaint
    for calm in ("Sorry, could you repeat that?", "It keeps turning itself off.", "No, not yet."):
        assert not cues.read(calm).loop_complaint


def test_one_or_two_words_are_left_to_the_text_rules(cues: MiniLmCallerCues) -> None:
    assert cues.pieces("Transfer.") == []
    assert cues.read("Transfer.") == cues.read("Transfer.")  # and it is not a request
    assert not cues.read("Transfer.").asks_for_person


def test_a_request_in_one_clause_of_a_long_sentence_is_read(cues: MiniLmCallerCues) -> None:
    text = "the bill is wrong again and I am tired of it, please, put me through to your team"
    assert clauses(text)[-1] == "put me through to your team"
    whole = cues.person(cues.pieces(text)[0][1])
    assert not whole.holds(PERSON_MIN, PERSON_MARGIN)  # as a whole it is about the bill
    assert cues.read(text).asks_for_person


def test_the_vector_is_the_utterance_embedding(
    encoder: CountingEncoder, cues: MiniLmCallerCues
) -> None:
    text = "I would like to change my booking to Friday."
    vector = cues.read(text).vector
    assert vector is not None
    assert np.allclose(np.asarray(vector), encoder.embed(text), atol=1e-6)
    assert abs(float(np.linalg.norm(np.asarray(vector))) - 1.0) < 1e-5


def test_the_scorer_and_the_detector_embed_each_text_once(encoder: CountingEncoder) -> None:
    scorer = VaderMiniLmSentimentScorer(encoder)
    cues = MiniLmCallerCues(encoder)
    text = "The parcel never came. I have asked twice already. Could someone look into it?"
    encoder.clear_cache()
    encoder.ran.clear()
    scorer.score(text)
    by_scorer = list(encoder.ran)
    cues.read(text)
    assert len(by_scorer) == 4  # the utterance and its three sentences
    assert encoder.ran == by_scorer  # the detector ran the model on nothing new


def test_a_batch_embeds_as_one_at_a_time(encoder: CountingEncoder) -> None:
    texts = ["put me through", "the blue one, not the red one, please", "ok"]
    encoder.clear_cache()
    batch = encoder.embed_many(texts)
    encoder.clear_cache()
    for text, vector in zip(texts, batch, strict=True):
        assert np.allclose(vector, encoder.embed(text), atol=1e-5)
