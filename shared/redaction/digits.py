"""What a digit chain ("4111 1111 1111 1111", "415, 555, 0132"; see chains.py) is.

Its type comes from validators (Luhn, phone-number plan, SSN layout) and from the last cue
word before it ("card", "security code", "expires", "social", "phone", "account"); business
cues ("order", "tracking") leave it alone.
"""

from __future__ import annotations

import re

import phonenumbers
from stdnum import luhn

from shared.redaction import cues
from shared.redaction.chains import Chain, chains
from shared.redaction.model import Entity

# How far back (characters) a cue still speaks for a number.
CUE_WINDOW = 80
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("KEEP", cues.KEEP),
    ("CREDIT_CARD", cues.CARD),
    ("CVV", cues.CVV),
    ("CARD_EXPIRY", cues.EXPIRY),
    ("US_SSN", cues.SSN),
    ("PHONE_NUMBER", cues.PHONE),
    ("BANK_ACCOUNT", cues.BANK),
    ("DATE_OF_BIRTH", cues.DOB),
    ("IBAN", cues.IBAN),
    ("CODE", cues.CODE),
)
_TYPED_BY_LAST_CUE = frozenset({"CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "BANK_ACCOUNT"})


def cues_before(text: str, start: int, end: int) -> dict[str, int]:
    """Each cue category seen in ``text[start:end]``, with the end of its last match."""
    window = text[start:end]
    spans: dict[str, tuple[int, int]] = {}
    for name, pattern in _CUES:
        for m in pattern.finditer(window):
            if m.end() >= spans.get(name, (-1, -1))[1]:
                spans[name] = (m.start(), m.end())
    # A cue inside a longer one is not said ("security number" in "social security number").
    return {
        name: e
        for name, (s, e) in spans.items()
        if not any(s2 < s and e <= e2 for other, (s2, e2) in spans.items() if other != name)
    }


def is_expiry(groups: list[str]) -> bool:
    """Whether the groups read as a card expiry: MM/YY, MM/YYYY, MMYY or MYY."""
    digits = "".join(groups)
    if len(groups) == 2:
        month, year = groups
        return len(month) <= 2 and 1 <= int(month) <= 12 and len(year) in (2, 4)
    if len(groups) == 1:
        if len(digits) == 4:
            return 1 <= int(digits[:2]) <= 12
        if len(digits) == 3:
            return digits[0] != "0"
        if len(digits) == 6:
            return 1 <= int(digits[:2]) <= 12 and digits[2:4] == "20"
    return False


def is_phone(chain: Chain) -> bool:
    """Whether the chain is a phone number by the numbering plan (US unless it has a +)."""
    digits = chain.digits
    raw = chain.text[chain.start : chain.end]
    try:
        if raw.startswith("+"):
            number = phonenumbers.parse("+" + digits, None)
        elif len(digits) in (10, 11):
            number = phonenumbers.parse(digits, "US")
        else:
            return False
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


# "2 + 3": a plus between numbers is arithmetic, not a country code.
_SUM_BEFORE = re.compile(r"\d[ \t]*$")


def _international(chain: Chain) -> bool:
    """A "+" and four digits or more: a country code and the start of a number at least (a
    caller's first half before a pause is still theirs)."""
    raw = chain.text[chain.start : chain.end]
    before = chain.text[max(0, chain.start - 4) : chain.start]
    return raw.startswith("+") and len(chain.digits) >= 4 and not _SUM_BEFORE.search(before)


def _card_prefix(groups: list[str]) -> int:
    """How many leading groups form a Luhn-valid card number (0 when none do)."""
    best = 0
    for k in range(1, len(groups) + 1):
        digits = "".join(groups[:k])
        if 13 <= len(digits) <= 19 and luhn.is_valid(digits):
            best = k
    return best


def _span(chain: Chain, first: int, last: int) -> tuple[int, int]:
    start = chain.start if first == 0 else chain.groups[first][0]
    end = chain.end if last == len(chain.groups) - 1 else chain.groups[last][1]
    return start, end


def _card_entities(chain: Chain, groups: list[str], whole_if_none: bool) -> list[Entity]:
    """A card number and whatever follows it in the same chain (expiry, security code)."""
    k = _card_prefix(groups)
    if k == 0:
        if not whole_if_none:
            return []
        return [Entity("CREDIT_CARD", chain.start, chain.end)]
    found = [Entity("CREDIT_CARD", *_span(chain, 0, k - 1))]
    rest = groups[k:]
    if rest:
        kind = "CREDIT_CARD"
        if is_expiry(rest[:1]) or is_expiry(rest[:2]):
            kind = "CARD_EXPIRY"
        elif len("".join(rest)) in (3, 4):
            kind = "CVV"
        found.append(Entity(kind, *_span(chain, k, len(groups) - 1)))
    return found


CORRECTION = re.compile(
    r"^[\s.,…-]*(?:no|sorry|wait|i mean|actually|oops|rather|scratch that|let me start again)\b"
    r"(?:[\s,.]+(?:no|sorry|wait|it's|its|it is|i mean|actually))*[\s,.]*$",
    re.IGNORECASE,
)
# "214... wait no that's my old area code it's 469...": a correction that opens a short
# aside still makes the broken-off number the same kind as the one said after it.
_CORRECTION_START = re.compile(
    r"^[\s.,…-]*(?:no|sorry|wait|i mean|actually|oops|scratch that|hold on|hang on|my bad|"
    r"let me (?:start|try) again|that's wrong|that's not right|not that one)\b",
    re.IGNORECASE,
)
_FALSE_START_REACH = 60
_YEAR = re.compile(r"(?:19|20)\d\d")
_YEAR_BEFORE = re.compile(r"\b(?:since|in|from|of|until|till|by|year|back in)\s*$", re.IGNORECASE)
# Dates written with slashes, dots or dashes ("12.01.2024", "3-14-2025"): a day, not a number.
_DATE_SHAPE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?"
    r"|(?:0?[1-9]|[12]\d|3[01])(?P<sep>[./-])(?:0?[1-9]|[12]\d|3[01])(?P=sep)(?:19|20)?\d\d"
)
# How far (characters) a cue said after a number still speaks for it ("... that's my cell").
_AFTER_REACH = 40
# Cues that also work after the number; a reference cue after a number is keep.py's call (a
# valid card still counts), and a date before "born" is usually another date.
_AFTER_CUES = frozenset({"CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "BANK_ACCOUNT", "CVV"})
# Between two numbers, words that carry the first one's cue to the second (a correction).
_CARRY = re.compile(
    r"\b(?:no|sorry|wait|i mean|actually|oops|rather|full number|whole number|the rest|again|"
    r"then|and then|followed by|next|month|year)\b",
    re.IGNORECASE,
)


def _by_cue(
    chain: Chain, groups: list[str], seen: dict[str, int], text: str, card_before: bool
) -> list[Entity] | None:
    """The entities the cues make of the chain; None when no cue decides."""
    digits = chain.digits
    n = len(digits)
    whole = (chain.start, chain.end)
    last = max(seen, key=lambda k: seen[k]) if seen else None
    if last == "KEEP":
        return []
    if "CVV" in seen and n in (3, 4):
        return [Entity("CVV", *whole)]
    if "CARD_EXPIRY" in seen and (is_expiry(groups) or (n <= 4 and "MONTH_YEAR" in seen)):
        return [Entity("CARD_EXPIRY", *whole)]
    if "DATE_OF_BIRTH" in seen and 4 <= n <= 8:
        return [Entity("DATE_OF_BIRTH", *whole)]
    if "CODE" in seen and n in (3, 4) and (card_before or cues.CARD.search(text, 0, chain.start)):
        return [Entity("CVV", *whole)]
    before = text[max(0, chain.start - 12) : chain.start]
    if len(groups) == 1 and _YEAR.fullmatch(digits) and _YEAR_BEFORE.search(before):
        return []  # "account since 2015": a year, not a number of the account
    if last == "CREDIT_CARD" and n >= 3:
        return _card_entities(chain, groups, whole_if_none=True)
    if last == "PHONE_NUMBER" and n >= 13 and _card_prefix(groups) and not is_phone(chain):
        # "the number is" cues a phone as often as a card: a Luhn-valid run is the card.
        return _card_entities(chain, groups, whole_if_none=True)
    if last in _TYPED_BY_LAST_CUE and n >= 3:
        return [Entity(last, *whole)]
    if last == "IBAN":
        return []  # the IBAN finder reads letters and digits together
    return None


def _without_cue(chain: Chain, groups: list[str]) -> list[Entity]:
    """Validators and shape alone: Luhn, SSN layout, the phone plan; long runs are personal."""
    whole = (chain.start, chain.end)
    card = _card_entities(chain, groups, whole_if_none=False)
    if card:
        return card
    raw = chain.text[chain.start : chain.end]
    if _DATE_SHAPE.fullmatch(raw):
        return []
    sizes = [len(g) for g in groups]
    n = len(chain.digits)
    if sizes == [3, 2, 4]:
        return [Entity("US_SSN", *whole)]
    if is_phone(chain) or sizes in ([3, 3, 4], [1, 3, 3, 4]) or _international(chain):
        return [Entity("PHONE_NUMBER", *whole)]
    # A long number nobody called a reference: personal until shown otherwise.
    if n >= 6:
        kind = "US_SSN" if n == 9 else "PHONE_NUMBER" if n <= 11 else "CREDIT_CARD"
        return [Entity(kind, *whole)]
    return []


def find_numbers(text: str) -> list[Entity]:
    """Cards, security codes, expiries, SSNs, phones, accounts and numeric birth dates."""
    found: list[Entity] = []
    all_chains = chains(text)
    typed: list[str | None] = []
    previous_end, carried = 0, dict[str, int]()
    for k, chain in enumerate(all_chains):
        seen = cues_before(text, max(previous_end, chain.start - CUE_WINDOW), chain.start)
        if re.search(r"\b(?:month|year)\b", text[max(0, chain.start - 30) : chain.start], re.I):
            seen.setdefault("MONTH_YEAR", -1)
        between = text[previous_end : chain.start]
        if not (seen.keys() - {"MONTH_YEAR"}) and _CARRY.search(between):
            seen = {**carried, **seen}  # "... no the full number is ...": the cue still holds
        if not (seen.keys() - {"MONTH_YEAR"}):
            next_start = all_chains[k + 1].start if k + 1 < len(all_chains) else len(text)
            after = text[chain.end : min(next_start, chain.end + _AFTER_REACH)]
            # A reference cue after a number is keep.py's call (a valid card still counts).
            seen = {
                name: 0
                for name in cues_before(after, 0, len(after))
                if name in _AFTER_CUES and (len(chain.digits) >= 6 or name == "CVV")
            }
        groups = chain.group_digits()
        card_before = any(e.type == "CREDIT_CARD" for e in found)
        entities = _by_cue(chain, groups, seen, text, card_before)
        if entities is None:
            entities = _without_cue(chain, groups)
        found.extend(entities)
        typed.append(entities[0].type if entities else None)
        if entities or len(chain.digits) >= 3:  # "the 3 digit code is": the 3 is part of a cue
            previous_end, carried = chain.end, seen
            if not seen and entities and entities[-1].type in _TYPED_BY_LAST_CUE:
                # Typed by its shape alone ("its 818 993 0265 no sorry 0264 at the end"): a
                # correction after it is still the same kind of number.
                carried = {entities[-1].type: 0}
    found.extend(_false_starts(text, all_chains, typed))
    return _with_extensions(text, found)


# "... 0192 x305", "... extension two one four", "... ext. 41": the extension is part of it.
_EXTENSION = re.compile(
    r"[ \t,;]*(?:(?:and|then)[ \t]+)*(?:(?:the|my|at|on)[ \t]+)?"
    r"(?:extension|extn\.?|ext\.?|x)(?:[ \t]+(?:number|no\.?|is|it's|its))*[ \t]*[:#]?[ \t]*"
    r"(\d{1,6})(?![\w])",
    re.IGNORECASE,
)


def _with_extensions(text: str, found: list[Entity]) -> list[Entity]:
    """Phone numbers widened over the extension said right after them."""
    out = []
    for e in found:
        ext = _EXTENSION.match(text, e.end) if e.type == "PHONE_NUMBER" else None
        out.append(Entity(e.type, e.start, ext.end()) if ext else e)
    return out


def _false_starts(text: str, all_chains: list[Chain], typed: list[str | None]) -> list[Entity]:
    """A number the caller broke off and said again ("two oh six... sorry two oh five ...")."""
    found = []
    for k in range(len(all_chains) - 1):
        this, nxt = all_chains[k], all_chains[k + 1]
        kind = typed[k + 1]
        if typed[k] is None and kind is not None and len(this.digits) >= 2:
            between = text[this.end : nxt.start]
            if CORRECTION.match(between) or (
                len(between) <= _FALSE_START_REACH and _CORRECTION_START.match(between)
            ):
                found.append(Entity(kind, this.start, this.end))
    return found
