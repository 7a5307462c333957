"""The redaction eval's scores on tiny corpora where the right numbers are obvious."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.redaction_eval import failures
from bench.redaction_scoring import Label, Predicted, Utterance, load_corpus, occurrences, score


def _u(
    text: str, pii: Sequence[tuple[str, str]] = (), keep: Sequence[tuple[str, str]] = ()
) -> Utterance:
    return Utterance(
        id=text[:10],
        text=text,
        pii=tuple(Label(t, v) for t, v in pii),
        keep=tuple(Label(t, v) for t, v in keep),
    )


def _span(text: str, value: str, kind: str = "X") -> Predicted:
    start = text.index(value)
    return Predicted(kind, start, start + len(value))


def test_a_gold_span_is_caught_only_when_all_its_letters_and_digits_are_covered() -> None:
    text = "card 4111 1111 1111 1111 ok"
    corpus = [_u(text, pii=[("CREDIT_CARD", "4111 1111 1111 1111")])] * 3
    predictions = [
        [_span(text, "4111 1111 1111 1111", "CREDIT_CARD")],  # exact
        [_span(text, "4111 1111"), _span(text, "1111 1111 ok")],  # two pieces, any type
        [_span(text, "4111 1111 1111 111")],  # one digit left
    ]

    scores = score(corpus, predictions)

    assert (scores.recall["CREDIT_CARD"].hit, scores.recall["CREDIT_CARD"].total) == (2, 3)
    assert scores.misses == [(text[:10], "CREDIT_CARD", "4111 1111 1111 1111")]


def test_punctuation_inside_a_gold_span_need_not_be_covered() -> None:
    text = "it's four one, five five"
    corpus = [_u(text, pii=[("PHONE_NUMBER", "four one, five five")])]
    predictions = [[_span(text, "four one"), _span(text, "five five")]]

    assert score(corpus, predictions).recall["PHONE_NUMBER"].rate == 1.0


def test_every_occurrence_of_a_value_counts() -> None:
    text = "kevin said kevin"
    corpus = [_u(text, pii=[("PERSON", "kevin")])]

    scores = score(corpus, [[Predicted("PERSON", 0, 5)]])

    assert (scores.recall["PERSON"].hit, scores.recall["PERSON"].total) == (1, 2)
    assert occurrences(text, "kevin") == [(0, 5), (11, 16)]


def test_precision_counts_predicted_spans_that_overlap_gold_pii() -> None:
    text = "jane ordered ORD-1 on monday"
    corpus = [_u(text, pii=[("PERSON", "jane")], keep=[("ORDER_ID", "ORD-1")])]
    predictions = [
        [
            _span(text, "jane", "PERSON"),
            _span(text, "monday", "PERSON"),
            _span(text, "ORD", "PHONE_NUMBER"),
        ]
    ]

    scores = score(corpus, predictions)

    assert scores.precision["PERSON"].rate == 0.5
    assert scores.precision["PHONE_NUMBER"].rate == 0.0
    assert scores.overall_precision.hit == 1
    assert scores.overall_precision.total == 3


def test_a_keep_value_is_broken_when_any_character_is_touched() -> None:
    text = "order 77315 for $45.99"
    corpus = [_u(text, keep=[("ORDER_ID", "77315"), ("AMOUNT", "$45.99")])] * 2
    predictions = [[], [_span(text, "5 for")]]

    scores = score(corpus, predictions)

    assert scores.keep["ORDER_ID"].rate == 0.5
    assert scores.keep["AMOUNT"].rate == 1.0
    assert scores.overall_keep.rate == 0.75
    assert scores.broken == [(text[:10], "ORDER_ID", "77315")]


def test_the_bar_fails_on_any_type_below_recall_or_a_low_keep_rate() -> None:
    text = "card 4111111111111111 email a@b.co order ORD-7"
    corpus = [
        _u(
            text,
            pii=[("CREDIT_CARD", "4111111111111111"), ("EMAIL_ADDRESS", "a@b.co")],
            keep=[("ORDER_ID", "ORD-7")],
        )
    ]
    good = score(corpus, [[_span(text, "4111111111111111"), _span(text, "a@b.co")]])
    bad = score(corpus, [[_span(text, "4111111111111111"), _span(text, "order ORD-7")]])

    assert failures(good) == []
    assert failures(bad) == ["recall EMAIL_ADDRESS 0.000 < 0.99", "keep rate 0.000 < 0.95"]


def test_the_corpus_format_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "utterances:\n"
        "  - id: a\n"
        '    text: "one one one one"\n'
        '    previous: "my card is four one one one"\n'
        '    pii: [{type: CREDIT_CARD, value: "one one one one"}]\n'
        "  - id: b\n"
        '    text: "order 7"\n'
        '    keep: [{type: ORDER_ID, value: "7"}]\n',
        encoding="utf-8",
    )

    a, b = load_corpus(path)

    assert a.previous == "my card is four one one one"
    assert a.pii == (Label("CREDIT_CARD", "one one one one"),)
    assert b.previous is None
    assert b.keep == (Label("ORDER_ID", "7"),)


@pytest.mark.parametrize("missing", ["pii", "keep"])
def test_an_utterance_without_labels_scores_nothing(missing: str) -> None:
    scores = score([_u("hello there")], [[]])

    assert scores.overall_recall.total == 0
    assert scores.overall_keep.total == 0
    assert scores.utterances == 1
