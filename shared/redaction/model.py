"""Types of the redaction API: what was found, where, and the redacted text."""

from __future__ import annotations

from dataclasses import dataclass

ENTITY_TYPES: tuple[str, ...] = (
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "CVV",
    "CARD_EXPIRY",
    "US_SSN",
    "DATE_OF_BIRTH",
    "STREET_ADDRESS",
    "BANK_ACCOUNT",
    "IBAN",
)

# When two findings overlap they are merged into one span; the type kept is the first of the two
# in this order (the more specific one: a validated IBAN beats a bare account number, an email
# beats the person's name inside it).
SPECIFICITY: tuple[str, ...] = (
    "IBAN",
    "CREDIT_CARD",
    "US_SSN",
    "EMAIL_ADDRESS",
    "CVV",
    "CARD_EXPIRY",
    "DATE_OF_BIRTH",
    "BANK_ACCOUNT",
    "PHONE_NUMBER",
    "STREET_ADDRESS",
    "PERSON",
)


@dataclass(frozen=True)
class Entity:
    """One piece of personal data: its type and its offsets into the original input text."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """The redacted text (each span replaced by ``[TYPE]``) and the spans that were replaced."""

    text: str
    entities: tuple[Entity, ...]


def merge_entities(found: list[Entity]) -> tuple[Entity, ...]:
    """Overlapping or touching-inside findings merged into one, sorted by start.

    The merged span covers all of them; its type is the most specific one among them.
    """
    rank = {name: i for i, name in enumerate(SPECIFICITY)}
    merged: list[Entity] = []
    for entity in sorted(found, key=lambda e: (e.start, -e.end)):
        if entity.end <= entity.start:
            continue
        if merged and entity.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.type, entity.type, key=lambda t: rank.get(t, len(rank)))
            merged[-1] = Entity(kind, last.start, max(last.end, entity.end))
        else:
            merged.append(entity)
    return tuple(merged)


def apply(text: str, entities: tuple[Entity, ...]) -> Redaction:
    """``text`` with each (sorted, non-overlapping) entity replaced by ``[TYPE]``."""
    parts: list[str] = []
    cursor = 0
    for entity in entities:
        parts.append(text[cursor : entity.start])
        parts.append(f"[{entity.type}]")
        cursor = entity.end
    parts.append(text[cursor:])
    return Redaction("".join(parts), entities)
