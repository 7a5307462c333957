"""Text as it is spoken and heard on a phone line.

Two directions:
- ``for_speech``: what the agent says. No markdown, no lists, no JSON, no internal ids; order
  and customer ids and long numbers are said the way a person says them ("ORD-77315" ->
  "order seven seven three one five").
- ``written_ids``: what the caller said, with spelled-out ids put back together ("O R D seven
  seven three one five" -> "ORD-77315"), so the model and the flows see the id a tool needs.
"""

from __future__ import annotations

import re

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_WORD_TO_DIGIT = {word: str(i) for i, word in enumerate(DIGIT_WORDS)} | {"oh": "0", "o": "0"}
# Id prefixes and how they are said.
ID_PREFIXES = {
    "ORD": "order",
    "CUS": "customer",
    "RMA": "return",
    "TCK": "ticket",
    "CB": "callback",
}

_ID = re.compile(
    r"\b(?:(?P<word>(?:" + "|".join(ID_PREFIXES.values()) + r")(?: number)?)\s+)?"
    r"#?(?P<prefix>" + "|".join(ID_PREFIXES) + r")-(?P<digits>[0-9]{3,12})\b",
    re.I,
)
_LONG_NUMBER = re.compile(r"(?<![\d$])(?<!\d[.,])\d{5,}(?!\d|[.,]\d)")
# Codes mixing letters and digits (tracking numbers) are spelled out character by character.
_CODE = re.compile(r"\b(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*\d)[A-Z0-9]{6,}\b")
_INTERNAL_ID = re.compile(
    r"\b(?:sess|call|reply|item|tool|toolu|chatcmpl)_[A-Za-z0-9]{6,}\b"
    r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
    re.I,
)
_MARKUP = re.compile(r"\*\*|__|`+|^#{1,6}\s*|\[(?P<label>[^\]]*)\]\([^)]*\)", re.M)
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", re.M)
_JSON_LIKE = re.compile(r"[{\[]\s*\"[^\"]*\"\s*:|^\s*[{\[]")


def say_digits(digits: str) -> str:
    return " ".join(DIGIT_WORDS[int(d)] for d in digits)


def _say_id(match: re.Match[str]) -> str:
    # "order ORD-77315" is said "order seven seven ...", not "order order seven ...".
    word = match.group("word") or ID_PREFIXES[match.group("prefix").upper()]
    return f"{word} {say_digits(match.group('digits'))}"


def _spell(code: str) -> str:
    return " ".join(DIGIT_WORDS[int(c)] if c.isdigit() else c for c in code)


def looks_like_json(text: str) -> bool:
    return bool(_JSON_LIKE.search(text))


def for_speech(text: str) -> str:
    """The text as the agent should say it; empty when nothing speakable is left."""
    text = _MARKUP.sub(lambda m: m.group("label") or "", text).replace("*", "")
    lines = [_LIST_ITEM.sub("", line).strip() for line in text.splitlines()]
    text = " ".join(_end_sentence(line) if i < len(lines) - 1 else line
                    for i, line in enumerate(lines) if line)  # fmt: skip
    text = _INTERNAL_ID.sub("", text)
    text = _ID.sub(_say_id, text)
    text = _CODE.sub(lambda m: _spell(m.group(0)), text)
    text = _LONG_NUMBER.sub(lambda m: say_digits(m.group(0)), text)
    text = re.sub(r"\s+([,.!?])", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def _end_sentence(line: str) -> str:
    return line if line[-1] in ".!?:;," else line + "."


# -- the caller's side ---------------------------------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z]+|\d+")


def written_ids(text: str) -> str:
    """Put spelled ids back together: "O R D seven seven three one five" -> "ORD-77315".

    An id prefix said as letters or as a word ("O R D", "ord", "order number"), then digits said
    one by one or written, becomes ``PREFIX-DIGITS``. Other runs of three or more spoken digits
    become a written number ("my zip is nine oh two one oh" -> "my zip is 90210").
    """
    tokens = list(_TOKEN.finditer(text))
    out: list[str] = []
    last_end = 0
    i = 0
    while i < len(tokens):
        prefix, after_prefix, spoken = _prefix_at(tokens, i)
        start = after_prefix if prefix else i
        digits, after_digits = _digits_at(tokens, start)
        if len(digits) >= 3 and (prefix or after_digits - start >= 3):
            # A prefix said as plain words ("order number") stays; spelled letters go.
            cut = tokens[start if spoken else i].start()
            out.append(text[last_end:cut])
            out.append(f"{prefix}-{digits}" if prefix else digits)
            last_end = tokens[after_digits - 1].end()
            i = after_digits
        else:
            i += 1
    out.append(text[last_end:])
    return "".join(out)


def _prefix_at(tokens: list[re.Match[str]], i: int) -> tuple[str, int, bool]:
    """An id prefix at token ``i``, the index after it, and whether it was said as words."""
    for prefix in ID_PREFIXES:
        letters = [t.group(0).upper() for t in tokens[i : i + len(prefix)]]
        if letters == list(prefix):  # spelled: "O R D"
            return prefix, i + len(prefix), False
        if i < len(tokens) and tokens[i].group(0).upper() == prefix:  # said as a word: "ord"
            return prefix, i + 1, False
    words = [t.group(0).lower() for t in tokens[i : i + 2]]
    if words[:1] == ["order"]:
        step = 2 if words[1:] == ["number"] else 1
        return "ORD", i + step, True
    return "", i, False


def _digits_at(tokens: list[re.Match[str]], i: int) -> tuple[str, int]:
    """Consecutive spoken or written digits from token ``i``, and the index after them."""
    digits = ""
    j = i
    while j < len(tokens):
        word = tokens[j].group(0).lower()
        if word.isdigit():
            digits += word
        elif word in _WORD_TO_DIGIT and (word not in ("o", "oh") or digits):
            digits += _WORD_TO_DIGIT[word]
        else:
            break
        j += 1
    return digits, j
