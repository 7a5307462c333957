"""Pieces of one number said with linking words between them ("six one seven, then eight two
four ..."): two findings of the same kind joined only by such words are one finding, so the
linking words go too; a bare digit run joined that way to a phone number is its first or last
part when together they have a phone number's length."""

from __future__ import annotations

import itertools
import re

from stdnum import luhn

from shared.redaction.chains import Chain, chains
from shared.redaction.digits import is_phone
from shared.redaction.model import Entity

# Kinds a caller reads out in parts.
_SPLIT_KINDS = frozenset({"PHONE_NUMBER", "CREDIT_CARD", "BANK_ACCOUNT", "US_SSN", "IBAN"})
_LINK = re.compile(
    r"[\s,.;:…\-]*(?:(?:and|then|and then|followed by|next|after that|dash|hyphen|"
    r"um+|uh+|er|okay|ok|so|"
    # "eight three, no wait, eight seven six two": a self-correction inside the number
    r"no|nope|i mean|actually|rather|oops|scratch that|my mistake|"
    # "and the last group is", "the next four are": the caller naming the part that follows
    r"(?:the )?(?:last|next|final|second|third|fourth|other|middle) (?:group|part|bit|block|"
    r"set|chunk|digits|numbers|one|four|three|two|[1-4])(?:'s| is| are)?|"
    # "wait let me read it again": a pause in a number read from a card
    r"(?:wait|hold on|hang on|one sec|sorry)(?: let me (?:read|say|check) (?:it|that|them) "
    r"(?:again|over))?|let me (?:read|say|check) (?:it|that|them) (?:again|over))"
    r"\b[\s,.;:…\-]*)*",
    re.IGNORECASE,
)
_CARD_DIGITS = range(13, 20)
_PHONE_DIGITS = range(10, 16)


def bridge(text: str, found: list[Entity]) -> list[Entity]:
    """New findings: one over each pair of same-kind findings joined by link words, bare runs
    joined to a phone number, and bare runs that together read as a phone number."""
    extra: list[Entity] = []
    parts = sorted((e for e in found if e.type in _SPLIT_KINDS), key=lambda e: e.start)
    start: Entity | None = None  # the first part of the run of linked parts being built
    for left, right in itertools.pairwise(parts):
        linked = (
            left.type == right.type
            and right.start > left.end
            and _LINK.fullmatch(text, left.end, right.start) is not None
        )
        if linked:
            # the whole run is one finding ("6011 and then 0353 then 5828"), so a run still
            # short of a card's length can be completed by the digits after it
            start = start if start is not None else left
            extra.append(Entity(left.type, start.start, right.end))
        else:
            start = None
    extra += _phone_parts(text, found + extra)
    extra += _completed(text, found + extra)
    return extra + _linked_runs(text, found + extra)


# "the last 4 are ...": the count of digits that follow, not a part of the number.
_COUNT_BEFORE = re.compile(r"(?:last|next|final|first|other)[ \t]+$", re.IGNORECASE)


def _free_chains(text: str, found: list[Entity]) -> list[Chain]:
    """Digit runs no finding covers, without the counts that name the part after them."""
    return [
        c
        for c in chains(text)
        if not any(e.start < c.end and c.start < e.end for e in found)
        and not (len(c.digits) == 1 and _COUNT_BEFORE.search(text, max(0, c.start - 10), c.start))
    ]


def _digits(text: str, start: int, end: int) -> int:
    return sum(c.isdigit() for c in text[start:end])


def _phone_parts(text: str, found: list[Entity]) -> list[Entity]:
    """ "call 1800, then 555, 2219": the run nobody typed is the phone number's first part."""
    phones = [e for e in found if e.type == "PHONE_NUMBER"]
    extra: list[Entity] = []
    for chain in chains(text):
        if not phones or any(e.start < chain.end and chain.start < e.end for e in found):
            continue
        for phone in phones:
            lo, hi = min(chain.start, phone.start), max(chain.end, phone.end)
            gap = (chain.end, phone.start) if chain.end <= phone.start else (phone.end, chain.start)
            if (
                len(chain.digits) >= 3
                and _LINK.fullmatch(text, *gap) is not None
                and _digits(text, lo, hi) in _PHONE_DIGITS
            ):
                extra.append(Entity("PHONE_NUMBER", lo, hi))
    return extra


def _linked_runs(text: str, found: list[Entity]) -> list[Entity]:
    """ "nine one nine, then three three two, then four four one oh": digit runs nobody typed,
    joined by link words, that are a valid phone number together."""
    free = _free_chains(text, found)
    extra: list[Entity] = []
    run: list[Chain] = []
    for chain in [*free, None]:
        if chain is not None and run and _LINK.fullmatch(text, run[-1].end, chain.start):
            run.append(chain)
            continue
        if len(run) > 1:
            joined = Chain(run[0].start, run[-1].end, tuple(g for c in run for g in c.groups), text)
            if is_phone(joined):
                extra.append(Entity("PHONE_NUMBER", joined.start, joined.end))
            elif len(joined.digits) in _CARD_DIGITS and luhn.is_valid(joined.digits):
                # "4087, then 2920, then 1567, and the last group is 1614": a valid card
                extra.append(Entity("CREDIT_CARD", joined.start, joined.end))
        run = [chain] if chain is not None else []
    return extra


def _completed(text: str, found: list[Entity]) -> list[Entity]:
    """ "social, it's 441, 06 ... and 5532": an SSN said short of nine digits runs on over the
    bare digit runs linked after it until it has nine (a card, until it passes Luhn)."""
    free = _free_chains(text, found)
    extra: list[Entity] = []
    for e in found:
        if e.type not in ("US_SSN", "CREDIT_CARD"):
            continue
        digits, end = "".join(c for c in text[e.start : e.end] if c.isdigit()), e.end
        if _complete(e.type, digits):
            continue
        for chain in (c for c in free if c.start >= e.end):
            if _LINK.fullmatch(text, end, chain.start) is None:
                break
            digits, end = digits + chain.digits, chain.end
            if _complete(e.type, digits):
                extra.append(Entity(e.type, e.start, end))
                break
    return extra


def _complete(kind: str, digits: str) -> bool:
    if kind == "US_SSN":
        return len(digits) >= 9
    return len(digits) in _CARD_DIGITS and luhn.is_valid(digits)
