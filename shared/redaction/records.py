"""Names without an introduction: records written "SURNAME, GIVEN", surnames written before a
name already found ("Rodríguez Santos, María José"), and a lone given name that is no English
word said where people are talked about ("i told aoife", "rashida said").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from shared.redaction.model import Entity
from shared.redaction.namelists import COMMON_WORDS, ORGANISATIONS, is_english
from shared.redaction.names import _NOT_A_NAME, _is_first, _surname, _unknown

_CAPS = r"[A-Z\u00c0-\u00de][A-Z\u00c0-\u00de'\-]+"
# "MENSAH, KWAME", "OKAFOR-BELL, ADAGRACE": a record in capitals, surname first.
_TITLE = r"[A-Z\u00c0-\u00de][a-z\u00df-\u00ff'\-]+"
# "HADDAD, Nadia A.": the given name may be written in title case, with a middle initial.
_CAPS_RECORD = re.compile(
    rf"(?<![\w-])({_CAPS}),[ \t]+((?:{_CAPS}|{_TITLE})(?:[ \t]+(?:{_CAPS}|{_TITLE}))?)"
    r"(?:[ \t]+[A-Z](?:\.|(?![\w-])))?(?![\w-])"
)
# One or two capitalised words, then a comma, right before a name already found.
_TITLED_BEFORE = re.compile(r"(?:(?<![\w-])[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?[ \t]+){0,1}"
                            r"(?<![\w-])[A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?,[ \t]+$")  # fmt: skip
# Where a lone given name is a person: after or before a verb of talking to someone.
_TALK_BEFORE = re.compile(
    r"(?<![\w'])(?:told|tell|asked|ask|called|texted|emailed|messaged|thanked|"
    r"spoke (?:to|with)|talked to|ask for|asked for|transferred me to|"
    r"(?:and|with|from|by) (?:my|his|her) (?:\w+) )[ \t]+$",
    re.IGNORECASE,
)
_TALK_AFTER = re.compile(
    r"[ \t]+(?:told|said|says|asked|called|mentioned|promised|explained|confirmed|offered|"
    r"helped|emailed|texted|gave|sent|assured|tells|suggested|recommended)(?![\w'])",
    re.IGNORECASE,
)
# Verbs only a person does: "nkechi said", never "fedex said" (carriers are organisations).
_SAID_AFTER = re.compile(
    r"[ \t]+(?:told|said|says|asked|promised|explained|offered|assured|suggested)(?![\w'])",
    re.IGNORECASE,
)
_WORD = re.compile(r"(?<![\w'-])[^\W\d_]{3,}(?![\w'-])")


def _record_word(word: str) -> bool:
    """A capitalised record's word: a known name, or a word that is no English word."""
    low = word.lower()
    return (
        len(low) >= 3
        and low not in _NOT_A_NAME
        and low not in COMMON_WORDS
        and low not in ORGANISATIONS
        and (_is_first(low) or _surname(low) or _unknown(word.title()))
    )


def _caps_records(text: str) -> Iterator[Entity]:
    for m in _CAPS_RECORD.finditer(text):
        given = m.group(2).split()
        if _record_word(m.group(1)) and all(_record_word(w) for w in given):
            if _is_first(given[0].lower()) or _surname(m.group(1).lower()):
                yield Entity("PERSON", m.start(), m.end())


def _surnames_before(text: str, found: list[Entity]) -> Iterator[Entity]:
    """ "Per Rodríguez Santos, María José": surnames before the given name of a record."""
    for e in found:
        m = _TITLED_BEFORE.search(text, max(0, e.start - 60), e.start)
        if m is None:
            continue
        words = re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)?", m.group(0))
        while words and not all(_surname(w.lower()) for w in words):
            words.pop(0)
        if words:
            start = text.rindex(words[0], m.start(), e.start)
            yield Entity("PERSON", start, e.end)


def _lone_given(text: str) -> Iterator[Entity]:
    """A given name no English word holds, said next to a verb of talking ("i told aoife")."""
    for m in _WORD.finditer(text):
        word = m.group(0)
        low = word.lower()
        if (
            low in _NOT_A_NAME
            or low in COMMON_WORDS
            or not _is_first(low)
            or is_english(low)
            or word.isupper()
        ):
            continue
        if _TALK_BEFORE.search(text, max(0, m.start() - 40), m.start()) or _TALK_AFTER.match(
            text, m.end()
        ):
            yield Entity("PERSON", m.start(), m.end())
    # "nkechi said": a word in no list and no dictionary, saying something, is someone
    for m in _WORD.finditer(text):
        low = m.group(0).lower()
        if (
            len(low) >= 4
            and low not in _NOT_A_NAME
            and not _is_first(low)
            and _unknown(m.group(0))
            and _SAID_AFTER.match(text, m.end())
        ):
            yield Entity("PERSON", m.start(), m.end())


# After a name: "siobhan with a b h" (normalised "with ABH"), "katherine with a k": a remark
# on its spelling says the letters of the name.
_SPELLING_REMARK = re.compile(
    r"[ \t]*,?[ \t]+(?:with|spelled with|spelt with|spelled|spelt)[ \t]+"
    r"(?:(?:an?|one|two|double|capital)[ \t]+)?(?:[A-Z]{1,6}|[a-z])(?![\w])"
)
# After a name, a pause or a turn break, then maybe its spelling ("rajesh, RAJESH,") and a
# "the last name is": the word that comes next, if it ends the clause, is its surname.
_CONTINUED = re.compile(
    r"(?:[ \t]*,[ \t]*[A-Z]{2,}(?=[ \t]*,))?[ \t]*[,.]?[ \t]*\n?[ \t]*"
    r"(?:(?:and[ \t]+)?(?:the[ \t]+|my[ \t]+)?(?:last name|surname|family name)"
    r"(?:[ \t]+is|'s)?[ \t]+)?"
    r"(?P<word>[^\W\d_]{3,}(?:['\u2019\-][^\W\d_]+)*)(?=[ \t]*(?:[,.;:!?\n]|$))"
)


def _continued(text: str, people: list[Entity]) -> Iterator[Entity]:
    """A name's spelling remark, and a surname said after a pause or in the next turn."""
    for e in people:
        remark = _SPELLING_REMARK.match(text, e.end)
        if remark is not None:
            yield Entity("PERSON", e.start, remark.end())
        m = _CONTINUED.match(text, e.end)
        if m is None or m.end() == e.end:
            continue
        word = m.group("word")
        low = word.lower()
        if (
            low not in _NOT_A_NAME
            and low not in COMMON_WORDS
            and low not in ORGANISATIONS
            and (_surname(low) or _unknown(word))
            and not is_english(low)
        ):
            yield Entity("PERSON", m.start("word"), m.end("word"))


def more_names(text: str, found: list[Entity]) -> list[Entity]:
    """Names the cue rules miss, given the names ``found`` so far."""
    people = [e for e in found if e.type == "PERSON"]
    extra = list(_caps_records(text)) + list(_lone_given(text))
    extra += _continued(text, people + extra)
    return extra + list(_surnames_before(text, people + extra))
