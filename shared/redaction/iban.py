"""IBANs, written ("DE89 3704 0044 0532 0130 00") or spoken ("d e eight nine three seven ...").

Letters and digits are read together across spaces and pauses and the longest run that passes
the ISO 13616 mod-97 check is the IBAN. After an "IBAN" cue an unchecked run is taken too: a
caller who misspeaks one digit still said their account number.
"""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban

from shared.redaction import cues
from shared.redaction.model import Entity

_PART = re.compile(r"[A-Za-z0-9]+")
_GAP = re.compile(r"[\s,.\-]{0,3}|\s+(?:and then|then|and|followed by)\s+", re.IGNORECASE)
_START = re.compile(r"[A-Za-z]{2}\d{2}")
_MAX_LEN = 34
_MIN_LEN = 15
_CUE_REACH = 40
# Countries that issue IBANs (ISO 3166 alpha-2).
_COUNTRIES = frozenset(
    "AD AE AL AT AZ BA BE BG BH BR BY CH CR CY CZ DE DK DO EE EG ES FI FO FR GB GE GI GL GR GT "
    "HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV MC MD ME MK MR MT MU NL NO PK PL PS PT QA RO "
    "RS SA SC SE SI SK SM ST SV TL TN TR UA VA VG XK".split()
)
# Two-letter words that are also country codes: not an IBAN start without a cue or checksum.
_WORDS = frozenset("is at it no be me am an as by do go if in my of on or so to up us we".split())
_STOP = frozenset("and is it the my a an or to so ok yes um uh its thats".split())


def _run(text: str, parts: list[re.Match[str]], i: int) -> list[tuple[int, str]]:
    """From part ``i`` on: (end offset, compact text so far) after each part taken."""
    steps: list[tuple[int, str]] = []
    compact = ""
    for j in range(i, len(parts)):
        part = parts[j]
        if j > i and _GAP.fullmatch(text, parts[j - 1].end(), part.start()) is None:
            break
        word = part.group(0)
        if word.isalpha() and j > i:
            follows_digits = j + 1 < len(parts) and any(c.isdigit() for c in parts[j + 1].group(0))
            # "NL 10 RABO" (a pause after the bank code): letters right after the check digits
            # are the bank code when spelled or written in capitals.
            bank_code = _START.fullmatch(compact) is not None and word.isupper()
            if len(word) > 4 or word.lower() in _STOP or not (follows_digits or bank_code):
                break
        compact += word.upper()
        if len(compact) > _MAX_LEN:
            break
        steps.append((part.end(), compact))
    return steps


def find_ibans(text: str) -> list[Entity]:
    """IBANs that validate, and IBAN-like runs right after an IBAN cue."""
    # "a i b k and then four six ...": the joining words sit in the gap, not in the IBAN.
    parts = [p for p in _PART.finditer(text) if p.group(0).lower() not in ("and", "then")]
    cue_ends = [m.end() for m in cues.IBAN.finditer(text)]
    found: list[Entity] = []
    i = 0
    while i < len(parts):
        start = parts[i].start()
        steps = _run(text, parts, i)
        compact = steps[-1][1] if steps else ""
        if not _START.match(compact):
            i += 1
            continue
        valid = [end for end, c in steps if len(c) >= _MIN_LEN and stdnum_iban.is_valid(c)]
        cued = any(0 <= start - e <= _CUE_REACH for e in cue_ends)
        digits = sum(c.isdigit() for c in compact)
        if valid:
            end = valid[-1]
        elif (
            (cued and digits >= 2)
            or (
                compact[:2] in _COUNTRIES
                and digits >= 6
                # "is 415-555-0132": a word that is also a country code counts only when spelled
                # (the spoken rewrite writes spelled letters in capitals) or written in capitals.
                and (
                    text[start : start + 2].lower() not in _WORDS
                    or text[start : start + 2].isupper()
                )
            )
        ):
            # After a cue, or a known country code and enough digits: a misspoken or partial
            # IBAN (a false start, or the first half before a pause) is still an IBAN.
            end = steps[-1][0]
        else:
            i += 1
            continue
        found.append(Entity("IBAN", start, end))
        while i < len(parts) and parts[i].start() < end:
            i += 1
    return found
