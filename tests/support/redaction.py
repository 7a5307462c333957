"""What the redaction tests ask of a result: is a value wholly redacted, or touched at all."""

from __future__ import annotations

from shared.redaction import Redactor


def covered(redactor: Redactor, text: str, value: str, previous: str | None = None) -> bool:
    """Every letter and digit of ``value`` (first occurrence in ``text``) lies in a finding."""
    start = text.index(value)
    end = start + len(value)
    found = redactor.redact(text, previous=previous).entities
    return all(
        any(e.start <= i < e.end for e in found) for i in range(start, end) if text[i].isalnum()
    )


def touched(redactor: Redactor, text: str, value: str, previous: str | None = None) -> bool:
    """Some finding overlaps ``value`` (first occurrence in ``text``): a broken keep."""
    start = text.index(value)
    found = redactor.redact(text, previous=previous).entities
    return any(e.start < start + len(value) and start < e.end for e in found)
