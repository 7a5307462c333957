"""What the embedding model reads in one caller utterance (the ``CallerCues`` port's answer).

The text rules (``person_cues``, ``loop_cues``) are the high-precision path; this is the one
that generalises to phrasings no rule names. The signals count either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CallerMeaning:
    """``asks_for_person`` and ``loop_complaint`` by nearness to anchor phrasings; ``vector``
    the utterance's unit-length embedding (to tell the same thing said again in other words)."""

    asks_for_person: bool = False
    loop_complaint: bool = False
    vector: Sequence[float] | None = None
