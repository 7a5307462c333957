"""People's names in transcripts, where capital letters cannot be trusted.

A name follows a cue ("my name is", "under the name", "mister", "first name"), or a weak cue
("this is", "it's", "thanks") when a known first name follows, or precedes "speaking"; without a
cue a known first name followed by a known surname is a name. Once a name is found, its other
mentions in the same text are too (a spelled repeat "s m i t h" reads "smith").
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator

from spacy.lang.en.stop_words import STOP_WORDS

from shared.redaction import cues
from shared.redaction.model import Entity
from shared.redaction.namelists import (
    COMMON_WORDS,
    ORGANISATIONS,
    all_last_names,
    first_names,
    is_english,
    last_names,
)
from shared.redaction.spoken import MONTHS, ORDINAL_UNITS, TEENS, TENS, UNITS

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*")
# Words a name never is, even right after "my name is".
_NOT_A_NAME = (
    STOP_WORDS
    | set(UNITS) | set(TEENS) | set(TENS) | set(MONTHS) | set(ORDINAL_UNITS)
    | set(
        """
        calling speaking here trying looking having going getting just not sorry um uh er ah
        hmm yes yeah yep okay ok hi hello hey thanks thank please so like actually really well
        also still again now today tomorrow yesterday order account card number phone email
        address street calling call about regarding wanted want need instead spelled spell
        with and the on in at for from that's thats it's its i'm im i'll ill i've ive there
        correct right sure fine good great wait no mr mrs ms dr miss mister doctor name names
        last first middle full family maiden surname holder dash hyphen dot underscore
        kinda gonna wanna gotta sorta lemme dunno aint yall nah yup cuz cause tho ya ur pls
        plz thx ima imma tryna
        """.split()
    )
)  # fmt: skip
_PARTICLES = frozenset(
    "de da di del della der van von la le st bin al el ben mac mc o ni nic ui mhic dos das du "
    "des ter ten den zu af y".split()
)
_FOLLOW_MAX = 4
# Filler words that may sit between a cue and the name ("my name is, um, ...").
_SKIP = frozenset(
    "um uh er ah is it's its was just instead actually like for to ma'am maam sir madam".split()
)


def _fold(word: str) -> str:
    """Lower case without accents: the name lists spell "lucía" as "lucia"."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _plain(word: str) -> str:
    return re.sub(r"['\u2019\-]", "", _fold(word))


def _is_first(word: str) -> bool:
    """A known first name, or a hyphenated pair of them ("jean-baptiste", "mary-kate")."""
    parts = re.split(r"['\u2019\-]", _fold(word))
    if len(parts) == 2 and all(len(p) >= 2 and p in first_names() for p in parts):
        return word.lower() not in COMMON_WORDS
    return _plain(word) in first_names()


def _is_known(word: str) -> bool:
    return _plain(word) in first_names() or _plain(word) in last_names()


def _words_after(text: str, pos: int) -> Iterator[re.Match[str]]:
    """Words after ``pos``; stops at sentence punctuation (a comma is allowed, and a colon
    right after the cue: "Name on the account: ...")."""
    first, previous = True, ""
    for m in _WORD.finditer(text, pos):
        gap = text[pos : m.start()]
        initial = len(previous) == 1 and gap.strip() == "."  # "K. Yamamoto"
        if (re.search(r"[.?!;]", gap) and not initial) or (":" in gap and not first):
            return
        yield m
        first, previous = False, m.group(0)
        pos = m.end()


def _unknown(word: str) -> bool:
    """Alphabetic, not short, no acronym and no English word: in an introduction, a name."""
    # "mensah-bonsu" is unknown, "t-shirt" and "long-sleeve" are English.
    parts = [p for p in re.split(r"['\u2019\-]", word.lower()) if len(p) >= 3]
    return (
        _plain(word).isalpha()
        and bool(parts)
        and not word.isupper()
        and word.lower() not in ORGANISATIONS
        and not any(is_english(p) for p in parts)
    )


def _name_after(text: str, pos: int, strong: bool, intro: bool = False) -> Entity | None:
    words: list[re.Match[str]] = []
    skipped = 0
    for m in _words_after(text, pos):
        w = m.group(0).lower()
        if not words and w in _SKIP and skipped < 3:
            skipped += 1
            continue
        if w in _NOT_A_NAME or len(words) >= _FOLLOW_MAX:
            break
        if words and "," in text[words[-1].end() : m.start()]:
            # "Ó Briain, Tomás", "van der Berg, Anna": particles, then the surname, a comma
            particles = all(_fold(x.group(0)) in _PARTICLES for x in words[:-1])
            if not ((strong or intro) and particles and _surname_first(text, words[-1], m)):
                break
        if not words:
            # A surname alone that is also a word ("it's stuck") is the word.
            surname = _is_known(w) and not is_english(_plain(w))
            known = _is_first(w.split("-")[0]) or surname or (intro and _unknown(w))
            # "Customer: Ó Briain, Tomás": a capitalised particle opens a surname
            known = known or (intro and m.group(0).istitle() and _fold(w) in _PARTICLES)
            if not strong and not known:
                return None
        elif (
            len(words) == 1
            and not strong
            and not (_is_known(w) or m.group(0)[0].isupper() or (intro and _unknown(w)))
            # "yes ma'am pooja deshpande": a first name, then a word that is no English word
            and not (_is_first(words[0].group(0)) and _unknown(w))
        ):
            break
        elif len(words) >= 2 and not (
            _is_known(w)
            or m.group(0)[0].isupper()
            or _fold(words[-1].group(0)) in _PARTICLES
            or ((strong or intro) and _unknown(w))
            # "sun hee park,": a surname that is also a word ends a two-word given name
            or (w in all_last_names() and _CLAUSE_END.match(text, m.end()) is not None)
        ):
            break
        words.append(m)
    if not words:
        return None
    return Entity("PERSON", words[0].start(), words[-1].end())


_LAST_WORD = re.compile(r"[ \t]*(?:[.;:!?()\n]|$)")
_CLAUSE_END = re.compile(r"[ \t]*(?:[,.;:!?)\n]|$)")


def _surname_first(text: str, surname: re.Match[str], first: re.Match[str]) -> bool:
    """ "Oyelaran, Bisi.": a record's surname, a comma, then the given name that ends it."""
    return (
        text[surname.end() : first.start()].strip() == ","
        # "MENSAH, KWAME": a record in capitals is a name, not an acronym
        and (_is_first(first.group(0)) or _unknown(first.group(0).title()))
        and _LAST_WORD.match(text, first.end()) is not None
    )


def _coordinated(text: str, found: list[Entity]) -> Iterator[Entity]:
    """ "for chidi and amara nwosu": a first name joined by "and" to a name found is a name."""
    for e in found:
        before = _AND_BEFORE.search(text, max(0, e.start - 40), e.start)
        after = _AND_AFTER.match(text, e.end)
        for m in (before, after):
            if m is None:
                continue
            word = m.group("word")
            plain = word.lower()
            if (
                len(plain) >= 3
                and plain not in _NOT_A_NAME
                and plain not in COMMON_WORDS
                and (_is_first(word) or _unknown(word))
            ):
                yield Entity("PERSON", m.start("word"), m.end("word"))


_AND_BEFORE = re.compile(
    r"(?<![\w'-])(?P<word>[^\W\d_]{2,})(?:[ \t]*,)?[ \t]+(?:and|&)[ \t]+$", re.I
)
_AND_AFTER = re.compile(r"[ \t]*,?[ \t]+(?:and|&)[ \t]+(?P<word>[^\W\d_]{2,})(?![\w'-])", re.I)


def _before_speaking(text: str) -> Iterator[Entity]:
    for cue in cues.SPEAKING.finditer(text):
        words = [m for m in _WORD.finditer(text, max(0, cue.start() - 40), cue.start())][-2:]
        words = [m for m in words if m.group(0).lower() not in _NOT_A_NAME]
        while words and not (
            _is_known(words[0].group(0).lower()) or words[0].group(0)[0].isupper()
        ):
            words.pop(0)
        if words and text[words[-1].end() : cue.start()].strip(" ,") == "":
            yield Entity("PERSON", words[0].start(), words[-1].end())


def _known_pairs(text: str) -> Iterator[Entity]:
    """Two words that read as first name and surname, with no cue at all: a known first name
    and a known surname, a first name (no English word) and a word that is no English word
    ("pooja deshpande"), or two words that are no English words ("wanjiru kamau")."""
    words = list(_WORD.finditer(text))
    for i, (a, b) in enumerate(itertools.pairwise(words)):
        first, last = a.group(0).lower(), b.group(0).lower()
        if text[a.end() : b.start()] != " " or first in _NOT_A_NAME or last in _NOT_A_NAME:
            continue
        # "Xavier Okonkwo-Reyes": written with capitals, an English first name is a name too
        # (not an acronym: "ETA Tue", "Dell XPS").
        titled = all(w[0].isupper() and not w.isupper() for w in (a.group(0), b.group(0)))
        if (
            (_is_first(first) and _surname(last))
            or (_is_first(first) and _unknown(b.group(0)) and (titled or not is_english(first)))
            or (_unknown(first) and _unknown(last))
        ):
            yield Entity("PERSON", a.start(), _more_surnames(text, words, i + 2, b.end()))


def _surname(word: str) -> bool:
    """A known surname that is no common word, or a hyphenated pair with a known surname in it
    and nothing English ("okonkwo-reyes")."""
    known = word.lower() in last_names() or _plain(word) in last_names()
    if known and word.lower() not in COMMON_WORDS:
        return True
    parts = [p for p in re.split(r"['\u2019\-]", _fold(word)) if p]
    return (
        len(parts) == 2
        and any(p in last_names() for p in parts)
        and any(not is_english(p) for p in parts)
    )


def _more_surnames(text: str, words: list[re.Match[str]], k: int, end: int) -> int:
    """The end of a name widened over the surnames after it ("ana lucía | paredes")."""
    while k < len(words) and text[end : words[k].start()] == " ":
        word = words[k].group(0)
        if word.lower() in _NOT_A_NAME or not (_surname(word) or _unknown(word)):
            break
        end = words[k].end()
        k += 1
    return end


def _initials(text: str) -> Iterator[Entity]:
    """ "it's w kamau", "this is j. okafor": an initial and a surname after an introduction."""
    for cue in cues.NAME_INTRO.finditer(text):
        m = _INITIAL.match(text, cue.end())
        if m is not None and (m.group(2).lower() in last_names() or _unknown(m.group(2))):
            yield Entity("PERSON", m.start(1), m.end(2))


def _relations(text: str) -> Iterator[Entity]:
    """ "my neighbor svetlana", "auntie wanjiru kamau": a name after who they are."""
    for cue in cues.RELATION.finditer(text):
        name = _name_after(text, cue.end(), strong=False, intro=True)
        if name is not None:
            yield name


def repeat_mentions(text: str, found: list[Entity]) -> Iterator[Entity]:
    """Other mentions of a name already found (its spelled-out repeat, "anna dash lena")."""
    tokens = {
        part
        for e in found
        for w in _WORD.findall(text[e.start : e.end])
        for part in [w.lower(), *re.split(r"['\u2019\-]", w.lower())]
        if len(part) >= 3 and part not in _NOT_A_NAME
    }
    if not tokens:
        return
    pattern = r"(?<![\w])(?:{0})(?:[ \t]+(?:dash|hyphen)[ \t]+(?:{0})|-(?:{0}))*(?![\w])".format(
        "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    )
    for m in re.finditer(pattern, text, re.IGNORECASE):
        yield Entity("PERSON", m.start(), m.end())


def find_names(text: str, allowed: Callable[[Entity], bool] = lambda _: True) -> list[Entity]:
    """People's names in the normalised ``text``; ``allowed`` vetoes a candidate (a brand)."""
    found: list[Entity] = []
    for pattern, strong in ((cues.NAME_STRONG, True), (cues.NAME_WEAK, False)):
        for cue in pattern.finditer(text):
            name = _name_after(text, cue.end(), strong)
            if name is not None:
                found.append(name)
    for intro in (cues.NAME_INTRO, cues.NAME_LABEL):
        for cue in intro.finditer(text):
            name = _name_after(text, cue.end(), strong=False, intro=True)
            if name is not None:
                found.append(name)
    found.extend(_before_speaking(text))
    found.extend(_known_pairs(text))
    found.extend(_initials(text))
    found.extend(_relations(text))
    found = [e for e in found if allowed(e)]
    found.extend(e for e in _coordinated(text, list(found)) if allowed(e))
    for name in list(found):  # "dmitri volkof no sorry volkov"
        fix = _CORRECTION.match(text, name.end)
        if fix is not None and (again := _name_after(text, fix.end(), strong=True)) is not None:
            found.append(again)
    found.extend(e for e in repeat_mentions(text, found) if allowed(e))
    return found


_INITIAL = re.compile(r"[ \t,]+(?-i:([b-hj-zB-HJ-Z]))\.?[ \t]+([^\W\d_]{3,})(?![\w])")
_CORRECTION = re.compile(r"[ \t,.]*(?:no[ \t,]+)?(?:sorry|i mean|no)[ \t,]+", re.IGNORECASE)
