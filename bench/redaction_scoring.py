"""Scores of a redactor on a labelled corpus (pure: no model, no I/O beyond reading YAML).

- recall per PII type: a gold span counts as caught when every letter and digit of it lies
  inside predicted spans, whatever their type;
- precision on spans: predicted spans overlapping some gold PII span / predicted spans;
- keep rate per keep type: keep values that no predicted span touches.

Every occurrence of a labelled value in the text counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Label:
    type: str
    value: str


@dataclass(frozen=True)
class Utterance:
    id: str
    text: str
    previous: str | None = None
    pii: tuple[Label, ...] = ()
    keep: tuple[Label, ...] = ()


@dataclass(frozen=True)
class Predicted:
    type: str
    start: int
    end: int


@dataclass
class Ratio:
    hit: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.hit / self.total if self.total else None


@dataclass
class Scores:
    """Counts per type (recall, keep) and per predicted type (precision), and overall."""

    utterances: int = 0
    recall: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    precision: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    keep: dict[str, Ratio] = field(default_factory=lambda: defaultdict(Ratio))
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (id, type, value)
    broken: list[tuple[str, str, str]] = field(default_factory=list)  # kept values touched

    @staticmethod
    def _total(ratios: Iterable[Ratio]) -> Ratio:
        out = Ratio()
        for r in ratios:
            out.hit += r.hit
            out.total += r.total
        return out

    @property
    def overall_recall(self) -> Ratio:
        return self._total(self.recall.values())

    @property
    def overall_precision(self) -> Ratio:
        return self._total(self.precision.values())

    @property
    def overall_keep(self) -> Ratio:
        return self._total(self.keep.values())


def _labels(raw: Any) -> tuple[Label, ...]:
    return tuple(Label(str(item["type"]), str(item["value"])) for item in raw or ())


def load_corpus(path: Path) -> list[Utterance]:
    """The utterances of a corpus YAML file (``utterances: [{id, text, previous, pii, keep}]``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Utterance(
            id=str(u["id"]),
            text=str(u["text"]),
            previous=str(u["previous"]) if u.get("previous") else None,
            pii=_labels(u.get("pii")),
            keep=_labels(u.get("keep")),
        )
        for u in data["utterances"]
    ]


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    """Every (non-overlapping) occurrence of ``value`` in ``text``."""
    spans: list[tuple[int, int]] = []
    start = text.find(value) if value else -1
    while start >= 0:
        spans.append((start, start + len(value)))
        start = text.find(value, start + len(value))
    return spans


def score(utterances: Sequence[Utterance], predictions: Sequence[Sequence[Predicted]]) -> Scores:
    """Recall, precision and keep rate of ``predictions`` (one list per utterance)."""
    scores = Scores(utterances=len(utterances))
    for utterance, predicted in zip(utterances, predictions, strict=True):
        covered = {i for p in predicted for i in range(p.start, p.end)}
        gold: list[tuple[int, int]] = []
        for label in utterance.pii:
            for start, end in occurrences(utterance.text, label.value):
                gold.append((start, end))
                needed = [i for i in range(start, end) if utterance.text[i].isalnum()]
                caught = all(i in covered for i in needed)
                scores.recall[label.type].total += 1
                scores.recall[label.type].hit += caught
                if not caught:
                    scores.misses.append((utterance.id, label.type, label.value))
        for p in predicted:
            scores.precision[p.type].total += 1
            scores.precision[p.type].hit += any(p.start < e and s < p.end for s, e in gold)
        for label in utterance.keep:
            for start, end in occurrences(utterance.text, label.value):
                touched = any(i in covered for i in range(start, end))
                scores.keep[label.type].total += 1
                scores.keep[label.type].hit += not touched
                if touched:
                    scores.broken.append((utterance.id, label.type, label.value))
    return scores
