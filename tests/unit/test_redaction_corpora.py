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

# Corpora that still miss the bar, each with the miss that is known: strict, so a fix shows.
KNOWN_MISSES = {
    "validation-5.yaml": "PERSON 0.978: a given name that is also a city ('gave it to kai')",
}
CORPORA = [
    pytest.param(p, id=p.name, marks=pytest.mark.xfail(reason=KNOWN_MISSES[p.name], strict=True))
    if p.name in KNOWN_MISSES
    else pytest.param(p, id=p.name)
    for p in sorted((Path(__file__).parents[1] / "redaction").glob("*.yaml"))
]


def test_the_repository_holds_the_labelled_corpora() -> None:
    paths = [p.values[0] for p in CORPORA]
    assert {"corpus.yaml", "dev.yaml", "validation.yaml"} <= {p.name for p in paths}
    assert sum(len(load_corpus(p)) for p in paths) >= 300


@pytest.mark.parametrize("corpus", CORPORA)
def test_redaction_meets_the_bars_on_a_repository_corpus(corpus: Path) -> None:
    scores, _ = run(switchboard_predict(), load_corpus(corpus))

    assert failures(scores) == []
