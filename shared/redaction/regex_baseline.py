"""Baseline PII redaction for transcripts and tool arguments (pure, no I/O).

It catches the written and the common spoken forms of emails, card numbers, phone numbers and
long digit strings ("four one one one ...", "oh" for zero), and leaves business values such as
order ids ("ORD-77315"), amounts and dates alone. The analytics issue replaces this with a
measured recogniser pipeline; this one keeps the walking skeleton from storing raw PII.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_NUMBER_WORDS = (
    "zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple|"
    "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|"
    "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.IGNORECASE)
_SPOKEN_EMAIL = re.compile(
    r"\b[\w]+(?:\s+(?:dot|underscore|dash)\s+[\w]+)*\s+at\s+[\w]+(?:\s+dot\s+[a-z]{2,})+\b",
    re.IGNORECASE,
)
# 13-19 digits with optional spaces or dashes between groups: payment cards.
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# Phone numbers: optional +country, 7+ digits with separators.
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d ().-]{6,}\d\b")
# Seven or more spoken digits in a row (with commas/pauses between them).
_SPOKEN_DIGITS = re.compile(
    rf"\b(?:(?:{_NUMBER_WORDS})[\s,.-]+){{6,}}(?:{_NUMBER_WORDS})\b", re.IGNORECASE
)
# Values analysts need kept: business ids (ORD-77315, RMA-1203), ISO dates, amounts.
_KEEP = re.compile(
    r"\b[A-Z]{2,5}-\d{3,12}\b"
    r"|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b"
    r"|[$€£]\s?\d[\d,]*(?:\.\d{1,2})?"
)

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", _EMAIL),
    ("EMAIL", _SPOKEN_EMAIL),
    ("CARD", _CARD),
    ("PHONE", _PHONE),
    ("NUMBER", _SPOKEN_DIGITS),
)


def redact_text(text: str) -> str:
    """``text`` with each PII span replaced by ``[ENTITY]``."""
    kept: dict[str, str] = {}

    def keep(match: re.Match[str]) -> str:
        token = f"\x00{len(kept)}\x00"
        kept[token] = match.group(0)
        return token

    out = _KEEP.sub(keep, text)
    for entity, pattern in _RULES:
        out = pattern.sub(f"[{entity}]", out)
    for token, original in kept.items():
        out = out.replace(token, original)
    return out


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value (dicts, lists, scalars)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [redact_value(v) for v in value]
    return value
