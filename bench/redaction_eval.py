"""``python -m bench.redaction_eval [corpus.yaml ...]``: Switchboard's redactor vs vanilla Presidio.

Prints, per PII type, recall and span precision of both, the keep rate per business-value type,
overall rows and throughput (utterances/s, ms p50/p95 per utterance). Vanilla Presidio is the
analyzer a team would start from: the default recognizers on spaCy's English small model, all
entities, placeholder anonymisation; it sees ``text`` only (no previous turn). Exits non-zero
when Switchboard's recall is below 0.99 for any type or its overall keep rate below 0.95.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.redaction_scoring import Predicted, Scores, Utterance, load_corpus, score

DEFAULT_CORPUS = Path("tests/redaction/corpus.yaml")
# The library's own development set: used when the labelled corpus is not in the tree.
DEV_CORPUS = Path("tests/redaction/dev.yaml")
MIN_RECALL = 0.99
MIN_KEEP = 0.95
# Presidio's names for the types both systems share.
_VANILLA_TYPES = {"IBAN_CODE": "IBAN", "US_BANK_NUMBER": "BANK_ACCOUNT"}

Predict = Callable[[Utterance], list[Predicted]]


def switchboard_predict() -> Predict:
    """Switchboard's Redactor (reads ``previous`` too)."""
    from shared.redaction import default_redactor

    redactor = default_redactor()

    def predict(u: Utterance) -> list[Predicted]:
        found = redactor.redact(u.text, previous=u.previous).entities
        return [Predicted(e.type, e.start, e.end) for e in found]

    return predict


def vanilla_predict() -> Predict:
    """Presidio out of the box on spaCy en_core_web_sm, with placeholder anonymisation."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    from shared.redaction.recognizers import SPACY_MODEL, pin_tldextract_offline

    pin_tldextract_offline()
    # spaCy's whole pipeline, as Presidio loads it by default (lemmas feed its context words).
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    ).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    anonymizer = AnonymizerEngine()

    def predict(u: Utterance) -> list[Predicted]:
        results = analyzer.analyze(text=u.text, language="en")
        anonymizer.anonymize(text=u.text, analyzer_results=results)
        return [
            Predicted(_VANILLA_TYPES.get(r.entity_type, r.entity_type), r.start, r.end)
            for r in results
        ]

    return predict


def run(predict: Predict, corpus: Sequence[Utterance]) -> tuple[Scores, list[float]]:
    """Scores and per-utterance latencies (seconds) of one system on the corpus."""
    predict(corpus[0])  # warm-up: lazy loading is not per-utterance cost
    predictions: list[list[Predicted]] = []
    latencies: list[float] = []
    for utterance in corpus:
        t0 = time.perf_counter()
        predictions.append(predict(utterance))
        latencies.append(time.perf_counter() - t0)
    return score(corpus, predictions), latencies


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def render(ours: Scores, vanilla: Scores, timing: dict[str, list[float]]) -> str:
    """The side-by-side table."""
    lines = [f"utterances: {ours.utterances}", ""]
    lines.append(
        f"{'PII type':<16}{'n':>5}  {'recall SB':>9} {'vanilla':>8}  {'prec SB':>8} {'vanilla':>8}"
    )
    for kind in sorted(set(ours.recall) | set(ours.precision) | set(vanilla.precision)):
        n = ours.recall[kind].total if kind in ours.recall else 0
        lines.append(
            f"{kind:<16}{n:>5}  {_fmt(ours.recall[kind].rate if kind in ours.recall else None):>9} "
            f"{_fmt(vanilla.recall[kind].rate if kind in vanilla.recall else None):>8}  "
            f"{_fmt(ours.precision[kind].rate if kind in ours.precision else None):>8} "
            f"{_fmt(vanilla.precision[kind].rate if kind in vanilla.precision else None):>8}"
        )
    lines.append(
        f"{'ALL PII':<16}{ours.overall_recall.total:>5}  {_fmt(ours.overall_recall.rate):>9} "
        f"{_fmt(vanilla.overall_recall.rate):>8}  {_fmt(ours.overall_precision.rate):>8} "
        f"{_fmt(vanilla.overall_precision.rate):>8}"
    )
    lines += ["", f"{'keep type':<16}{'n':>5}  {'kept SB':>9} {'vanilla':>8}"]
    for kind in sorted(ours.keep):
        lines.append(
            f"{kind:<16}{ours.keep[kind].total:>5}  {_fmt(ours.keep[kind].rate):>9} "
            f"{_fmt(vanilla.keep[kind].rate):>8}"
        )
    lines.append(
        f"{'ALL KEEP':<16}{ours.overall_keep.total:>5}  {_fmt(ours.overall_keep.rate):>9} "
        f"{_fmt(vanilla.overall_keep.rate):>8}"
    )
    lines += ["", f"{'throughput':<16}{'utt/s':>9} {'p50 ms':>8} {'p95 ms':>8}"]
    for name, latencies in timing.items():
        ms = sorted(x * 1000 for x in latencies)
        p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
        rate = len(ms) / (sum(ms) / 1000)
        lines.append(f"{name:<16}{rate:>9.1f} {statistics.median(ms):>8.2f} {p95:>8.2f}")
    return "\n".join(lines)


def failures(scores: Scores) -> list[str]:
    """Why the Switchboard figures fail the bar (empty when they pass)."""
    out = [
        f"recall {kind} {ratio.rate:.3f} < {MIN_RECALL}"
        for kind, ratio in sorted(scores.recall.items())
        if ratio.rate is not None and ratio.rate < MIN_RECALL
    ]
    keep = scores.overall_keep.rate
    if keep is not None and keep < MIN_KEEP:
        out.append(f"keep rate {keep:.3f} < {MIN_KEEP}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate on each corpus; the exit status is 1 when any corpus fails the bar."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("corpus", nargs="*", type=Path, default=[])
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and broken keeps")
    args = parser.parse_args(argv)
    if not args.corpus:
        args.corpus = [DEFAULT_CORPUS if DEFAULT_CORPUS.exists() else DEV_CORPUS]
        if not DEFAULT_CORPUS.exists():
            print(f"{DEFAULT_CORPUS} not found: evaluating on {DEV_CORPUS}")
    ours_predict, vanilla = switchboard_predict(), vanilla_predict()
    status = 0
    for path in args.corpus:
        corpus = load_corpus(path)
        ours, ours_ms = run(ours_predict, corpus)
        theirs, theirs_ms = run(vanilla, corpus)
        print(f"== {path}")
        print(render(ours, theirs, {"switchboard": ours_ms, "vanilla presidio": theirs_ms}))
        if args.verbose:
            for uid, kind, value in ours.misses:
                print(f"MISS  {uid:<28} {kind:<15} {value}")
            for uid, kind, value in ours.broken:
                print(f"BROKE {uid:<28} {kind:<15} {value}")
        problems = failures(ours)
        for problem in problems:
            print(f"FAIL: {problem}")
        status |= bool(problems)
        print()
    return status


if __name__ == "__main__":
    sys.exit(main())
