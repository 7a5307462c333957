"""The walking skeleton's deterministic answer rule."""

from __future__ import annotations

import pytest

from services.gateway.domain.responder import FALLBACK, answer
from shared.lines import SupportLine

LINE = SupportLine(line_id="demo-retail", name="Demo", policies={"hours": "Mon to Fri, 9 to 5"})
NO_HOURS = SupportLine(line_id="other", name="Other")


@pytest.mark.parametrize(
    "utterance",
    ["What are your hours?", "are you OPEN on sunday", "when do you close", "closing time?"],
)
def test_hours_question_is_answered_with_the_line_store_hours(utterance: str) -> None:
    assert answer(LINE, utterance) == "Mon to Fri, 9 to 5"


def test_hours_question_on_a_line_without_hours_is_not_answered_with_hours() -> None:
    assert answer(NO_HOURS, "what are your hours") == FALLBACK


@pytest.mark.parametrize(
    "utterance", ["I want a person", "can I talk to a human", "get me a REPRESENTATIVE"]
)
def test_asking_for_a_person_hits_the_person_rule(utterance: str) -> None:
    reply = answer(LINE, utterance)

    assert "speak with a person" in reply
    assert reply != FALLBACK


def test_order_question_gets_the_order_answer() -> None:
    assert "order" in answer(LINE, "where is my package").lower()


def test_return_question_gets_the_return_policy() -> None:
    assert "thirty days" in answer(LINE, "how do I get a refund")


def test_unknown_text_gets_the_fallback() -> None:
    assert answer(LINE, "zxqv blorp") == FALLBACK


def test_rules_match_whole_words_only() -> None:
    # "personal" must not trigger the person rule, "shopping" not the hours rule.
    assert answer(LINE, "personalised shopping") == FALLBACK


@pytest.mark.parametrize(
    "utterance",
    [
        "Zorblax77 wants a person",
        "my order Zorblax77 never came",
        "Zorblax77 what are your hours",
        "hello Zorblax77",
        "Zorblax77",
    ],
)
def test_answer_never_echoes_the_callers_words(utterance: str) -> None:
    assert "Zorblax77" not in answer(LINE, utterance)
    assert "zorblax77" not in answer(LINE, utterance).lower()
