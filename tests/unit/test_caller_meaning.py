"""The semantic caller cues in the engine and the repeat check, with a fake ``CallerCues``
(the real detector on the real encoder: test_minilm_caller_cues.py)."""

from __future__ import annotations

from services.session.domain.meaning import CallerMeaning
from services.session.domain.repeats import CALLER_SIMILAR_COSINE, Repeats, caller_alike
from services.session.domain.rules import EscalationEngine
from tests.unit.test_escalation_engine import Call, FakeProfanity, FakeScorer, _escalations, _line

SAME = (1.0, 0.0, 0.0)
OTHER = (0.0, 1.0, 0.0)


class FakeCallerCues:
    """Reads by a table; anything else means nothing and has no vector."""

    def __init__(self, meanings: dict[str, CallerMeaning]) -> None:
        self.meanings = meanings
        self.read_texts: list[str] = []

    def read(self, text: str) -> CallerMeaning:
        self.read_texts.append(text)
        return self.meanings.get(text, CallerMeaning())


def _engine(cues: FakeCallerCues, *conditions: dict[str, object]) -> EscalationEngine:
    return EscalationEngine(
        FakeScorer(), {"l1": _line(*conditions)}, FakeProfanity(), caller_cues=cues
    )


def test_a_request_only_the_model_reads_escalates_with_its_item_id() -> None:
    text = "I would be grateful if one of your colleagues could take this over."
    cues = FakeCallerCues({text: CallerMeaning(asks_for_person=True)})
    call = Call(_engine(cues, {"signal": "asked_for_person", "threshold": 1}))

    assert not _escalations(call.caller("My parcel is late."))
    escalated = _escalations(call.caller(text))
    assert escalated and escalated[0].evidence[0].item_ids == ["u2"]
    assert cues.read_texts == ["My parcel is late.", text]

    # Without the detector only the text rules count: the same words do not escalate.
    line = _line({"signal": "asked_for_person", "threshold": 1})
    plain = Call(EscalationEngine(FakeScorer(), {"l1": line}, FakeProfanity()))
    assert not _escalations(plain.caller(text))


def test_a_loop_complaint_the_model_reads_counts_as_a_repeat() -> None:
    said = ("We do not seem to be getting anywhere with this.", "Honestly, this is circular.")
    cues = FakeCallerCues({t: CallerMeaning(loop_complaint=True) for t in said})
    call = Call(_engine(cues, {"signal": "repeated_questions", "threshold": 2}))

    assert not _escalations(call.caller(said[0]))
    escalated = _escalations(call.caller(said[1]))
    assert escalated and escalated[0].evidence[0].item_ids == ["u1", "u2"]


def test_the_caller_saying_the_same_thing_in_other_words_is_a_repeat() -> None:
    first = "I need the booking moved to a later flight."
    again = "Could you put me on a flight that leaves later, please."
    other = "And can I add a bag as well?"
    repeats = Repeats()

    assert not repeats.caller(first, CallerMeaning(vector=SAME))
    assert not repeats.caller(other, CallerMeaning(vector=OTHER))
    assert repeats.caller(again, CallerMeaning(vector=SAME))
    # Word by word (no vector) the two are too different to count.
    assert not Repeats().caller(first) and not _said_twice(first, again)


def _said_twice(first: str, again: str) -> bool:
    repeats = Repeats()
    repeats.caller(first)
    return repeats.caller(again)


def test_other_numbers_or_days_are_another_request_not_a_repeat() -> None:
    repeats = Repeats()
    assert not repeats.caller("Can you check order 4411 for me?", CallerMeaning(vector=SAME))
    assert not repeats.caller("Can you check order 5120 as well?", CallerMeaning(vector=SAME))
    # One naming a number and one not may be the same thing said again.
    assert caller_alike("check order 4411", SAME, "check my order", SAME) == 1.0
    assert caller_alike("check order 4411", SAME, "check order 5120", SAME) == 0.0
    assert caller_alike("late check out", SAME, "late check out", OTHER) < CALLER_SIMILAR_COSINE


def test_short_answers_are_not_compared_by_meaning() -> None:
    repeats = Repeats()
    assert not repeats.caller("yes please", CallerMeaning(vector=SAME))
    assert not repeats.caller("yes thanks", CallerMeaning(vector=SAME))
    assert not repeats.caller_statements  # nothing of substance kept
