"""Spoken (speech-to-text) forms rewritten as written forms, with a map back to the original.

"four one one one" becomes "4111", "double five" "55", "nineteen eighty five" "1985",
"john dot smith at gmail dot com" "john.smith@gmail.com" and "s m i t h" "smith". The
recognisers then see one written form; every character of the rewritten text remembers which
part of the original it came from, so a finding maps back to original offsets.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from shared.redaction.emails import merge_emails
from shared.redaction.pieces import FILLERS, Piece, clean_gap, gap

# Words and digit runs (with inner apostrophes: "it's", "o'brien"); everything between two
# tokens is a gap that is copied as it is.
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
# Inside one spoken number: words separated by spaces or a hyphen ("twenty-one"). A comma or a
# full stop is a pause: it ends the run, and the digit-chain finder rejoins the groups. So is a
# dash with a space either side ("four one five - five five five").
_TIGHT = re.compile(r"(?![ \t]+-+[ \t]+)\s*-?\s*")
_LETTER_GAP = re.compile(r"\s*[-.]?\s*")
# A pause written as an ellipsis or a spaced dash ("five oh nine... west", "4111 - 1111") is
# the same pause a comma is: every recogniser then sees one form ("509, west").
_PAUSE = re.compile(
    r"[ \t]*(?:\.{2,}|…+|(?<=\s)(?:-{1,2}|\u2013|\u2014)(?=\s)|\u2014)[ \t]*(?:,[ \t]*)?"
)

UNITS = {
    "zero": 0, "oh": 0, "o": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4,
    "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
ORDINAL_UNITS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_CARDINAL = {**UNITS, **TEENS, **TENS}
_ZERO_WORDS = frozenset({"oh", "o"})
_MULTIPLIERS = {"double": 2, "triple": 3}
_SCALES = frozenset({"hundred", "thousand"})


@dataclass(frozen=True)
class Normalised:
    """The rewritten text and, per character, the original span it stands for."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering the rewritten span ``[start, end)``."""
        if end <= start:
            return (
                (self.starts[start], self.starts[start])
                if start < len(self.text)
                else (
                    len(self.original),
                    len(self.original),
                )
            )
        return self.starts[start], self.ends[end - 1]


def normalise(text: str) -> Normalised:
    """``text`` with spoken numbers, spelled letters and spoken emails in written form."""
    tokens = [Piece(m.group(0), m.start(), m.end(), "word") for m in _TOKEN.finditer(text)]
    tokens = _phonetic_letters([t for t in tokens if not FILLERS.fullmatch(t.text)])
    pieces = merge_emails(text, _symbols(text, _merge_numbers_and_letters(text, tokens)))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cursor = 0
    for piece in pieces:
        _copy_gap(text, cursor, piece.start, out, starts, ends)
        if piece.text == text[piece.start : piece.end]:
            for p in range(piece.start, piece.end):
                out.append(text[p])
                starts.append(p)
                ends.append(p + 1)
        else:
            for ch in piece.text:
                out.append(ch)
                starts.append(piece.start)
                ends.append(piece.end)
        cursor = piece.end
    _copy_gap(text, cursor, len(text), out, starts, ends)
    return Normalised(text, "".join(out), tuple(starts), tuple(ends))


def _copy_gap(
    text: str, lo: int, hi: int, out: list[str], starts: list[int], ends: list[int]
) -> None:
    """The gap ``text[lo:hi]`` copied as it is, fillers blanked and pauses written ", "."""
    cleaned = clean_gap(text[lo:hi])
    p = 0
    while p < len(cleaned):
        pause = _PAUSE.match(cleaned, p)
        if pause and pause.group(0).strip(" \t,"):
            for ch in ", ":
                out.append(ch)
                starts.append(lo + p)
                ends.append(lo + pause.end())
            p = pause.end()
            continue
        out.append(cleaned[p])
        starts.append(lo + p)
        ends.append(lo + p + 1)
        p += 1


_LETTER_FOLLOWERS = frozenset({"underscore", "dot", "dash", "hyphen", "at"})
_SYMBOL_WORDS = {"slash": "/", "dash": "-", "hyphen": "-"}


def _phonetic_letters(tokens: list[Piece]) -> list[Piece]:
    """ "t for tango", "s as in sam" read as the letter itself."""
    out: list[Piece] = []
    i = 0
    while i < len(tokens):
        letter = tokens[i].text.lower()
        words = [t.text.lower() for t in tokens[i + 1 : i + 4]]
        if len(letter) == 1 and letter.isalpha():
            span = 2 if words[:1] == ["for"] else 3 if words[:2] == ["as", "in"] else 0
            if span and len(words) >= span and words[span - 1].startswith(letter):
                start = tokens[i].start
                if out and out[-1].text.lower() == letter and tokens[i - 1] is out[-1]:
                    start = out.pop().start  # "j, j as in juliet": the letter, then its key
                out.append(Piece(tokens[i].text, start, tokens[i + span].end, "word"))
                i += span + 1
                continue
        out.append(tokens[i])
        i += 1
    return out


def _symbols(text: str, pieces: list[Piece]) -> list[Piece]:
    """ "plus" before a number is "+"; "slash"/"dash" between two numbers are "/"/"-"."""
    out = list(pieces)
    for k, piece in enumerate(out):
        word = piece.text.lower()
        after = out[k + 1] if k + 1 < len(out) else None
        before = out[k - 1] if k > 0 else None
        if after is None or after.kind != "num" or gap(text, piece, after).strip():
            continue
        if word == "plus":
            out[k] = Piece("+", piece.start, piece.end, "symbol")
        elif word in _SYMBOL_WORDS and before is not None and before.kind == "num":
            out[k] = Piece(_SYMBOL_WORDS[word], piece.start, piece.end, "symbol")
    return out


def _near_month(words: Sequence[str], i: int) -> bool:
    return any(w in MONTHS for w in words[max(0, i - 3) : i + 4])


def _is_number_word(words: Sequence[str], tight: Sequence[bool], i: int) -> bool:
    """Whether ``words[i]`` is part of a spoken number (``tight[i]``: joined to word i-1)."""
    w = words[i]
    if w == "oh":
        prev = words[i - 1] if i > 0 and tight[i] else ""
        nxt = words[i + 1] if i + 1 < len(words) and tight[i + 1] else ""
        return any((x in _CARDINAL and x not in _ZERO_WORDS) or x.isdigit() for x in (prev, nxt))
    if w in _ZERO_WORDS:
        # "oh"/"o" are zero only next to other number words, and "o" not amid spelled letters.
        prev = words[i - 1] if i > 0 and tight[i] else ""
        nxt = words[i + 1] if i + 1 < len(words) and tight[i + 1] else ""
        near = [x for x in (prev, nxt) if x]
        if any(len(x) == 1 and x.isalpha() and x not in _ZERO_WORDS for x in near):
            return False
        return any((x in _CARDINAL and x not in _ZERO_WORDS) or x.isdigit() for x in near)
    if w in _CARDINAL or w in _SCALES:
        return True
    if w in _MULTIPLIERS:
        return i + 1 < len(words) and tight[i + 1] and words[i + 1] in UNITS
    return w in ORDINAL_UNITS and _near_month(words, i)


def _merge_numbers_and_letters(text: str, tokens: list[Piece]) -> list[Piece]:
    words = [t.text.lower() for t in tokens]
    tight = [False] + [
        _TIGHT.fullmatch(gap(text, a, b)) is not None for a, b in itertools.pairwise(tokens)
    ]
    numeric = [_is_number_word(words, tight, i) for i in range(len(tokens))]
    _spread_zeros(words, tight, numeric)
    pieces: list[Piece] = []
    i = 0
    while i < len(tokens):
        if numeric[i]:
            j = i + 1
            while (
                j < len(tokens)
                and tight[j]
                and words[j - 1] not in ORDINAL_UNITS
                and (
                    numeric[j]
                    or (
                        words[j] == "and"
                        and words[j - 1] in _SCALES
                        and j + 1 < len(tokens)
                        and numeric[j + 1]
                    )
                )
            ):
                j += 1
            digits = spoken_digits(words[i:j])
            pieces.append(Piece(digits, tokens[i].start, tokens[j - 1].end, "num"))
            i = j
            continue
        j = _letter_run_end(text, tokens, words, numeric, i)
        if j - i >= 2:
            # Capitals mark letters as spelled: "b e 5710..." is a country code, "be" a verb.
            joined = "".join(t.text for t in tokens[i:j]).upper()
            pieces.append(Piece(joined, tokens[i].start, tokens[j - 1].end, "letters"))
            i = j
            continue
        kind = "num" if tokens[i].text.isdigit() else "word"
        pieces.append(Piece(tokens[i].text, tokens[i].start, tokens[i].end, kind))
        i += 1
    return pieces


def _spread_zeros(words: list[str], tight: list[bool], numeric: list[bool]) -> None:
    """Mark "oh"/"o" runs as digits when they touch a number ("... three oh oh")."""
    changed = True
    while changed:
        changed = False
        for i, w in enumerate(words):
            if numeric[i] or w not in _ZERO_WORDS:
                continue
            near = [i - 1] if i > 0 and tight[i] else []
            near += [i + 1] if i + 1 < len(words) and tight[i + 1] else []
            letters = [k for k in near if len(words[k]) == 1 and words[k].isalpha()]
            if w == "o" and any(not numeric[k] for k in letters):
                continue
            if any(numeric[k] for k in near):
                numeric[i] = changed = True
    # "five five two oh, oh oh oh oh": a run of "oh"s between pauses, next to a number.
    for i in range(len(words) - 1):
        if words[i] == "oh" == words[i + 1] and tight[i + 1] and not numeric[i]:
            j = i
            while j < len(words) and words[j] == "oh" and (j == i or tight[j]):
                j += 1
            if (i > 0 and numeric[i - 1]) or (j < len(words) and numeric[j]) or j - i >= 3:
                for k in range(i, j):
                    numeric[k] = True


def _letter_run_end(
    text: str, tokens: list[Piece], words: list[str], numeric: list[bool], i: int
) -> int:
    """End of a run of spelled single letters starting at ``i`` ("s m i t h", "j.o.h.n")."""

    def letter(k: int) -> bool:
        return len(words[k]) == 1 and words[k].isalpha() and not numeric[k]

    j = i
    while j < len(tokens) and letter(j):
        if j > i and _LETTER_GAP.fullmatch(gap(text, tokens[j - 1], tokens[j])) is None:
            break
        j += 1
    # "a" and "i" are words as often as letters: a run needs another letter ("a k", "i e").
    others = sum(1 for w in words[i:j] if w not in ("a", "i"))
    if j - i < 2 or others < 1:
        return i
    if others < 2:
        # "i e eighty eight", "a k underscore ...": a pair with a/i is letters only when a
        # number or an email connector follows ("a K. Yamamoto" is an article and an initial).
        nxt = words[j] if j < len(words) else ""
        if not (numeric[j] if j < len(words) else False) and nxt not in _LETTER_FOLLOWERS:
            return i
    return j


def spoken_digits(words: Sequence[str]) -> str:
    """The digits a run of number words stands for, read the way people say numbers.

    Groups are read in turn and concatenated: "four one five" -> "415", "twelve thirty four"
    -> "1234", "oh eight twenty seven" -> "0827", "double five" -> "55", "four hundred
    fifteen" -> "415", "two thousand and five" -> "2005".
    """
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _MULTIPLIERS and i + 1 < len(words) and words[i + 1] in UNITS:
            out.append(str(UNITS[words[i + 1]]) * _MULTIPLIERS[w])
            i += 2
            continue
        value, j = _below_thousand(words, i)
        if j == i:  # a stray word ("and", an unpaired "double"): nothing to read
            i += 1
            continue
        if j < len(words) and words[j] == "thousand":
            value = max(value, 1) * 1000
            j += 1
            if j + 1 < len(words) and words[j] == "and":
                j += 1
            rest, k = _below_thousand(words, j)
            if k > j:
                value, j = value + rest, k
        out.append(str(value))
        i = j
    return "".join(out)


def _below_thousand(words: Sequence[str], i: int) -> tuple[int, int]:
    if i >= len(words):
        return 0, i
    w = words[i]
    if w == "hundred":
        base, j = 100, i + 1
    elif w == "thousand":
        return 1, i  # the caller scales it
    elif (w in UNITS or w in TEENS) and i + 1 < len(words) and words[i + 1] == "hundred":
        base, j = (UNITS.get(w) or TEENS.get(w, 0)) * 100, i + 2
    else:
        return _below_hundred(words, i)
    if j + 1 < len(words) and words[j] == "and":
        j += 1
    rest, k = _below_hundred(words, j)
    return base + rest, k


def _below_hundred(words: Sequence[str], i: int) -> tuple[int, int]:
    if i >= len(words):
        return 0, i
    w = words[i]
    if w in TENS or w in ("twentieth", "thirtieth"):
        tens = TENS.get(w) or ORDINAL_UNITS[w]
        if i + 1 < len(words):
            nxt = words[i + 1]
            unit = UNITS.get(nxt) if nxt not in _ZERO_WORDS and nxt != "zero" else None
            unit = unit or (ORDINAL_UNITS.get(nxt) if nxt in ORDINAL_UNITS else None)
            if unit is not None and 0 < unit < 10:
                return tens + unit, i + 2
        return tens, i + 1
    if w in TEENS:
        return TEENS[w], i + 1
    if w in UNITS:
        return UNITS[w], i + 1
    if w in ORDINAL_UNITS:
        return ORDINAL_UNITS[w], i + 1
    return 0, i
