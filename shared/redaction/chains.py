"""Digit chains: runs of digit groups separated by spaces, commas, dots, dashes or slashes
(spoken numbers arrive split by pauses). digits.py says what each chain is."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CHAIN = re.compile(
    r"(?<![\w@.+\-/$€£])(?:\+[ \t]?)?\(?\d+\)?"
    r"(?:(?:(?:[ \t]*(?:[-.,/]|\.\.\.|…)){1,2}[ \t]*|\s+)\(?\d+\)?)*(?!(?!x\d)[\w@])"
)
# A written ISO date inside a chain ("placed 2024-01-15, 3 x ...") is a chain of its own.
_ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)")
_GROUP = re.compile(r"\d+")


@dataclass(frozen=True)
class Chain:
    """A run of digit groups: its span and each group's span in the text."""

    start: int
    end: int
    groups: tuple[tuple[int, int], ...]
    text: str

    @property
    def digits(self) -> str:
        return "".join(self.text[a:b] for a, b in self.groups)

    def group_digits(self) -> list[str]:
        return [self.text[a:b] for a, b in self.groups]


def chains(text: str) -> list[Chain]:
    """Every digit chain in ``text``."""
    found = []
    for m in _CHAIN.finditer(text):
        for start, end in _split_dates(text, m.start(), m.end()):
            groups = tuple((g.start(), g.end()) for g in _GROUP.finditer(text, start, end))
            found.append(Chain(start, end, groups, text))
    return found


def _split_dates(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The chain's span, cut around written ISO dates (a pause joins numbers, not a date)."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for date in _ISO_DATE.finditer(text, start, end):
        if date.start() > cursor:
            spans.append((cursor, date.start()))
        spans.append((date.start(), date.end()))
        cursor = date.end()
    if cursor < end:
        spans.append((cursor, end))
    trimmed = [(a + _lead(text[a:b]), b - _trail(text[a:b])) for a, b in spans]
    return [(a, b) for a, b in trimmed if any(c.isdigit() for c in text[a:b])]


def _lead(part: str) -> int:
    return len(part) - len(part.lstrip(" \t-.,/…"))


def _trail(part: str) -> int:
    return len(part) - len(part.rstrip(" \t-.,/…"))
