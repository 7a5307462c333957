"""Dates that are personal: a date of birth (only after a birth cue) and a card's expiry.

A delivery date is the same shape as a birth date, so shape alone never decides: the date must
follow a birth (or expiry) cue closely, with no delivery word in between.
"""

from __future__ import annotations

import re

from shared.redaction import cues
from shared.redaction.model import Entity

_MONTH = (
    r"(?:january|february|march|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
)
_ORDINAL = (
    r"(?:(?:twenty|thirty)[ \t-])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|"
    r"ninth)|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|"
    r"seventeenth|eighteenth|nineteenth|twentieth|thirtieth"
)
_DAY = rf"(?:[0-3]?\d(?:st|nd|rd|th)?|{_ORDINAL})"
_YEAR = r"(?:(?:19|20)\d\d|'?\d\d)"
_SEP = r"[ \t]*[/.\-][ \t]*|[ \t]+"
_MARK = r"[ \t]*[/.\-][ \t]*"
DATE = re.compile(
    rf"(?<![\w])(?:"
    # written with separators: "05-Jun-1958", "12/Mar/71", "Jun-05-1958", "1958-Jun-05"
    rf"{_DAY}{_MARK}{_MONTH}{_MARK}{_YEAR}|{_MONTH}{_MARK}{_DAY}{_MARK}{_YEAR}"
    rf"|(?:19|20)\d\d{_MARK}{_MONTH}{_MARK}{_DAY}"
    rf"|{_MONTH}[\s,]+(?:the\s+)?{_DAY}(?:(?:\s*,\s*|\s+)(?:of\s+)?{_YEAR})?"
    rf"|(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}(?:[\s,]+(?:of\s+)?{_YEAR})?"
    rf"|{_MONTH}[\s,]+(?:of\s+)?{_YEAR}"
    rf"|\d{{1,2}}(?:{_SEP})\d{{1,2}}(?:{_SEP})(?:\d{{4}}|\d{{2}})"
    rf"|\d{{4}}-\d{{1,2}}-\d{{1,2}}"
    rf"|\d{{6}}|\d{{8}}|(?:19|20)\d\d|the\s+{_DAY}(?:\s+of(?=\s*$))?"
    # a part of the date before a pause ("date of birth is march", "born on the"): the rest
    # follows in the next turn, and the month alone already narrows who the caller is
    rf"|{_MONTH}"
    rf")(?![\w])",
    re.IGNORECASE,
)
_EXPIRY_YEAR = r"(?:(?:20)?\d\d)"
# "the ninth month of 28", "month 9 of 2028": a month said by its number.
_MONTH_BY_NUMBER = (
    rf"(?:the[ \t]+)?(?:{_ORDINAL}|\d{{1,2}}(?:st|nd|rd|th)?)[ \t]+month"
    rf"|month[ \t]+(?:number[ \t]+)?\d{{1,2}}"
)
EXPIRY_DATE = re.compile(
    rf"(?<![\w])(?:(?:{_MONTH}|{_MONTH_BY_NUMBER})[ \t,]+(?:of[ \t]+|in[ \t]+)?{_EXPIRY_YEAR}"
    rf"|(?:0?[1-9]|1[0-2])(?:[ \t]*[/.\-][ \t]*|[ \t]+)(?:20)?\d\d|(?:0[1-9]|1[0-2])\d\d"
    rf"|[1-9]\d\d|20[2-4]\d)(?![\w])",
    re.IGNORECASE,
)
# How far after a cue (characters) its date may start.
_REACH = 60


def _after_cue(text: str, cue: re.Pattern[str], shape: re.Pattern[str], kind: str) -> list[Entity]:
    found: list[Entity] = []
    for m in cue.finditer(text):
        window_end = min(len(text), m.end() + _REACH)
        for date in shape.finditer(text, m.end(), window_end + 30):
            if date.start() > window_end:
                break
            between = text[m.end() : date.start()]
            if cues.DELIVERY.search(between) or re.search(r"[.?!;]\s", between):
                break
            found.append(Entity(kind, date.start(), date.end()))
    return found


def find_birth_dates(text: str) -> list[Entity]:
    """Dates right after "born", "date of birth", "birthday", "DOB" and the like."""
    return _after_cue(text, cues.DOB, DATE, "DATE_OF_BIRTH")


def find_expiries(text: str) -> list[Entity]:
    """Month/year dates right after "expires", "expiry", "valid thru" and the like."""
    return _after_cue(text, cues.EXPIRY, EXPIRY_DATE, "CARD_EXPIRY")
