"""Tokens of the original text and the gaps between them (shared by the spoken rewriters)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Hesitations inside a spoken number or email ("nine seven three um five five five"): they
# read as a pause, so the rewritten text has spaces where they were.
FILLERS = re.compile(r"(?<![\w'])(?:um+|uh+|uhm|er+|erm|ah+|hmm+|mm+)(?![\w'])", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    """A token of the original, or several merged, with the text that replaces them."""

    text: str
    start: int
    end: int
    kind: str  # "word", "num" (digits), "letters" (spelled), "email", "symbol"


def clean_gap(gap: str) -> str:
    """A gap with its fillers blanked (same length)."""
    return FILLERS.sub(lambda m: " " * len(m.group(0)), gap)


def gap(text: str, left: Piece, right: Piece) -> str:
    """What lies between two pieces, fillers blanked."""
    return clean_gap(text[left.end : right.start])
