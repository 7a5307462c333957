"""Pieces of one number said with linking words between them ("six one seven, then eight two
four ..."): two findings of the same kind joined only by such words are one finding, so the
linking words go too and the placeholder count matches what the caller said."""

from __future__ import annotations

import itertools
import re

from shared.redaction.model import Entity

# Kinds a caller reads out in parts.
_SPLIT_KINDS = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "BANK_ACCOUNT", "US_SSN", "IBAN"})
_LINK = re.compile(
    r"[\s,.;:…\-]*(?:(?:and|then|and then|followed by|next|after that|dash|hyphen|"
    r"um+|uh+|er|okay|ok|so)\b[\s,.;:…\-]*)*",
    re.IGNORECASE,
)


def bridge(text: str, found: list[Entity]) -> list[Entity]:
    """``found`` plus one finding over each pair of same-kind findings joined by link words."""
    extra: list[Entity] = []
    parts = sorted((e for e in found if e.type in _SPLIT_KINDS), key=lambda e: e.start)
    for left, right in itertools.pairwise(parts):
        if left.type != right.type or right.start <= left.end:
            continue
        link = _LINK.fullmatch(text, left.end, right.start)
        if link is not None:
            extra.append(Entity(left.type, left.start, right.end))
    return found + extra
