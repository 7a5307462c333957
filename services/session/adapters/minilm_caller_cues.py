"""The ``CallerCues`` port: requests for a person and loop complaints by sentence embeddings.

Each caller utterance, and each of its sentences as the sentiment scorer splits them, is
compared (cosine, all-MiniLM-L6-v2) with anchor phrasings of a family (``caller_cue_anchors``)
and with their look-alikes. A piece is a cue when its nearest anchor of the family is at least
``*_MIN`` similar and beats the nearest look-alike by ``*_MARGIN``. The encoder (shared with the
scorer) caches embeddings by text, so an utterance the scorer has read costs only the
comparisons (a few microseconds) here.

Thresholds were read from ``python -m bench.caller_cues`` on the development conversations
(positives: the requests and loop turns of the escalate conversations; negatives: every caller
utterance and sentence of the calm ones); docs/handoff.md section 1 gives the figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.session.adapters import caller_cue_anchors
from services.session.adapters.minilm_sentiment import (
    MAX_CHARS,
    MIN_SENTENCE_WORDS,
    MiniLmEncoder,
    Vector,
    sentences,
)
from services.session.domain.meaning import CallerMeaning

# Clauses of an utterance read on their own, the last ones (each costs an embedding, about
# 4 ms for a short clause on one core).
MAX_CLAUSES = 2
# Only sentences this long are split into clauses.
CLAUSE_SENTENCE_WORDS = 8
# Clauses are read only when the utterance or a sentence is at least this near to a request or a
# loop complaint anchor (the requests found only in a clause are 0.36 to 0.49 near as a whole).
CLAUSE_GATE = 0.33
_CLAUSE = re.compile(r"[,;:]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

PERSON_MIN = 0.60
PERSON_MARGIN = 0.10
LOOP_MIN = 0.55
LOOP_MARGIN = 0.10


@dataclass(frozen=True)
class FamilyNearness:
    """The nearest anchor of a family and of its look-alikes, for one piece of text."""

    near: float
    look_alike: float

    @property
    def margin(self) -> float:
        return self.near - self.look_alike

    def holds(self, minimum: float, margin: float) -> bool:
        return self.near >= minimum and self.margin >= margin


def clauses(text: str) -> list[str]:
    """The last ``MAX_CLAUSES`` clauses of at least ``MIN_SENTENCE_WORDS`` words of the
    utterance's sentences of ``CLAUSE_SENTENCE_WORDS`` or more words that have several clauses
    (split at commas, semicolons, colons): a request
    or a complaint is often one clause of a long sentence ("..., i don't want the robot, put a
    real one on"). A sentence of one clause is read as a sentence already."""
    found: list[str] = []
    for sentence in _SENTENCE.split(text):
        if len(sentence.split()) < CLAUSE_SENTENCE_WORDS:
            continue  # a short sentence reads as a whole
        parts = [c.strip() for c in _CLAUSE.split(sentence)]
        parts = [c for c in parts if len(c.split()) >= MIN_SENTENCE_WORDS]
        if len(parts) > 1:
            found += parts
    return found[-MAX_CLAUSES:]


def _nearest(vector: Vector, anchors: Vector) -> float:
    return float((anchors @ vector).max())


class MiniLmCallerCues:
    """Reads one caller utterance: request for a person, loop complaint, its embedding.
    Thread-safe (the encoder is)."""

    def __init__(self, encoder: MiniLmEncoder) -> None:
        self._encoder = encoder
        self._person = encoder.embed_all(caller_cue_anchors.PERSON)
        self._not_person = encoder.embed_all(caller_cue_anchors.NOT_PERSON)
        self._loop = encoder.embed_all(caller_cue_anchors.LOOP)
        self._not_loop = encoder.embed_all(caller_cue_anchors.NOT_LOOP)

    def pieces(self, text: str) -> list[tuple[str, Vector]]:
        """The utterance, its sentences (as the scorer splits them) and its last clauses, each
        of at least ``MIN_SENTENCE_WORDS`` words, with their embeddings."""
        text = text[:MAX_CHARS]
        texts = [t for t in (text, *sentences(text)) if len(t.split()) >= MIN_SENTENCE_WORDS]
        # The scorer's pieces come from the cache.
        found = list(zip(texts, self._encoder.embed_many(texts), strict=True))
        if any(self._worth_clauses(vector) for _, vector in found):
            split = clauses(text)  # embedded in one batch
            found += zip(split, self._encoder.embed_many(split), strict=True)
        return found

    def _worth_clauses(self, vector: Vector) -> bool:
        # Clauses cost an embedding run; they are read only when the utterance is somewhat near
        # a family already (a request buried in a long sentence still is).
        return (
            _nearest(vector, self._person) >= CLAUSE_GATE
            or _nearest(vector, self._loop) >= CLAUSE_GATE
        )

    def person(self, vector: Vector) -> FamilyNearness:
        return FamilyNearness(_nearest(vector, self._person), _nearest(vector, self._not_person))

    def loop(self, vector: Vector) -> FamilyNearness:
        return FamilyNearness(_nearest(vector, self._loop), _nearest(vector, self._not_loop))

    def read(self, text: str) -> CallerMeaning:
        pieces = self.pieces(text)
        if not pieces:
            return CallerMeaning()
        vectors = [vector for _, vector in pieces]
        return CallerMeaning(
            asks_for_person=any(self.person(v).holds(PERSON_MIN, PERSON_MARGIN) for v in vectors),
            loop_complaint=any(self.loop(v).holds(LOOP_MIN, LOOP_MARGIN) for v in vectors),
            vector=tuple(float(x) for x in vectors[0]),
        )
