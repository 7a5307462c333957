"""The Redactor: normalise, analyse, drop what business values protect, map back, merge."""

from __future__ import annotations

import re
import threading
from typing import Any

from presidio_analyzer import AnalyzerEngine, RecognizerResult

from shared.redaction.bridges import bridge
from shared.redaction.chains import chains
from shared.redaction.keep import blocked, kept_spans
from shared.redaction.model import Entity, Redaction, apply, merge_entities
from shared.redaction.namelists import COMMON_WORDS, first_names, is_english, last_names
from shared.redaction.names import repeat_mentions
from shared.redaction.recognizers import analyze, build_analyzer
from shared.redaction.spoken import normalise
from shared.redaction.values import redact_json

# Texts longer than this are analysed in windows (callers send at most 4,000 characters per
# event; the bound keeps one pathological input from holding a worker for seconds).
MAX_WHOLE_TEXT = 20_000
_WINDOW = 4_000
_WINDOW_CONTEXT = 200
_FIX = re.compile(
    r"[\s.,…-]*(?:no|sorry|wait|i mean|actually|oops)\b"
    r"(?:[\s,.]+(?:no|sorry|wait|it's|its|it is|i mean|actually))*[\s,.]*",
    re.IGNORECASE,
)


class Redactor:
    """Finds personal data in caller text and replaces each span by ``[TYPE]``."""

    def __init__(self, analyzer: AnalyzerEngine | None = None) -> None:
        self._analyzer = analyzer if analyzer is not None else build_analyzer()

    def redact(self, text: str, *, previous: str | None = None) -> Redaction:
        """``text`` redacted; ``previous`` (the caller's previous turn) is read as context.

        With ``previous`` the two turns are analysed together, so a card number split across
        them is still a card number; only the spans inside ``text`` are returned, with offsets
        into ``text``. Texts above 20,000 characters are analysed in overlapping 4,000-character
        windows rather than rejected.
        """
        if previous:
            joined = previous + "\n" + text
            offset = len(previous) + 1
            found = [
                Entity(e.type, max(e.start, offset) - offset, e.end - offset)
                for e in self.find(joined)
                if e.end > offset
            ]
        else:
            found = self.find(text)
        return apply(text, merge_entities(found))

    def find(self, text: str) -> list[Entity]:
        """Every finding in ``text`` (original offsets; may overlap)."""
        if len(text) <= MAX_WHOLE_TEXT:
            return self._find_whole(text)
        found: list[Entity] = []
        for lo in range(0, len(text), _WINDOW):
            hi = min(len(text), lo + _WINDOW)
            ctx_lo = max(0, lo - _WINDOW_CONTEXT)
            ctx_hi = min(len(text), hi + _WINDOW_CONTEXT)
            for e in self._find_whole(text[ctx_lo:ctx_hi]):
                start, end = e.start + ctx_lo, e.end + ctx_lo
                if end > lo and start < hi:
                    found.append(Entity(e.type, start, end))
        return found

    def _find_whole(self, text: str) -> list[Entity]:
        norm = normalise(text)
        kept = kept_spans(norm.text)
        raw = [
            Entity(r.entity_type, r.start, r.end)
            for r in analyze(self._analyzer, norm.text)
            if not _implausible_name(norm.text, r.entity_type, r.start, r.end)
            and not (_from_spacy(r) and _common_word(norm.text[r.start : r.end]))
        ]
        raw = [e for e in raw if not blocked(kept, e.type, e.start, e.end)]
        # A name found once (by spaCy or a cue) is a name wherever else it is said.
        people = [e for e in raw if e.type == "PERSON"]
        raw += [
            e
            for e in repeat_mentions(norm.text, people)
            if not blocked(kept, e.type, e.start, e.end)
        ]
        raw += _false_starts(norm.text, raw)
        raw += [e for e in bridge(norm.text, raw) if not blocked(kept, e.type, e.start, e.end)]
        found: list[Entity] = []
        for e in raw:
            start, end = _whole_words(text, *norm.to_original(e.start, e.end))
            if end > start:
                found.append(Entity(e.type, start, end))
        return found

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with every string redacted; a dict key is context for its value.

        Bare values under PII-named keys ("phone", "card_number", "email", "name") are replaced
        whole when nothing more precise is found; numbers under them become the placeholder.
        Values under business keys (order_id, sku, tracking_number, amount) are kept.
        """
        return redact_json(self, value)


def _false_starts(text: str, found: list[Entity]) -> list[Entity]:
    """A number broken off and said again ("404... no 406 willow bend way"): the first try is
    the same kind of thing as the second."""
    extra: list[Entity] = []
    for chain in chains(text):
        if any(e.start < chain.end and chain.start < e.end for e in found):
            continue
        fix = _FIX.match(text, chain.end)
        following = [e for e in found if fix and e.start == fix.end()]
        if following:
            extra.append(Entity(following[0].type, chain.start, chain.end))
    return extra


def _implausible_name(text: str, kind: str, start: int, end: int) -> bool:
    """spaCy's PERSON on a model number or an abbreviation ("Galaxy Tab S9", "Tel")."""
    span = text[start:end]
    return kind == "PERSON" and (any(c.isdigit() for c in span) or len(span.strip(". ")) < 3)


def _from_spacy(result: RecognizerResult) -> bool:
    metadata = result.recognition_metadata or {}
    return bool(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY) == "SpacyRecognizer")


def _common_word(span: str) -> bool:
    """spaCy's PERSON on one English word that no name list holds ("Expiry", "stuck")."""
    word = span.strip(" .,'").lower()
    return (
        word.isalpha()
        and is_english(word)
        and word not in first_names()
        and word not in last_names()
        and word not in COMMON_WORDS  # "Hope", "Grace": words that are also names
    )


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words and trimmed of surrounding spaces and punctuation."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    while start < end and not text[start].isalnum() and text[start] not in "+(#":
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return start, end


_lock = threading.Lock()
_default: Redactor | None = None


def default_redactor() -> Redactor:
    """The process-wide Redactor, built on first use (loads spaCy once); thread-safe."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = Redactor()
    return _default
