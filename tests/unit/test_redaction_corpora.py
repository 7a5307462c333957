"""The acceptance bars on every labelled corpus in the repository, as a regression guard.

``make eval`` prints the same figures beside vanilla Presidio; this test fails the build when a
change to the redactor drops any type's recall below 0.99 or the keep rate below 0.95 on data
it passed before. (A held-out corpus, outside the repository, is the test of generalisation.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.redaction_eval import failures, run, switchboard_predict
from bench.redaction_scoring import load_corpus

CORPORA = sorted((Path(__file__).parents[1] / "redaction").glob("*.yaml"))


def test_the_repository_holds_the_labelled_corpora() -> None:
    names = {p.name for p in CORPORA}
    assert {"corpus.yaml", "dev.yaml", "validation.yaml"} <= names
    assert sum(len(load_corpus(p)) for p in CORPORA) >= 300


@pytest.mark.parametrize("corpus", CORPORA, ids=lambda p: p.name)
def test_redaction_meets_the_bars_on_a_repository_corpus(corpus: Path) -> None:
    scores, _ = run(switchboard_predict(), load_corpus(corpus))

    assert failures(scores) == []
