"""Spoken emails: "john dot smith at gmail dot com" becomes "john.smith@gmail.com".

Works on the pieces of the spoken rewrite (numbers and spelled letters already merged). From
each "at" (or "at the rate", or a written "@") it reads a domain forward (labels joined by
"dot", up to three loose words before the first dot, ending in a top-level domain or a known
mail provider) and a local part backward (pieces joined by "dot"/"underscore"/"dash", then up
to two loose words). A local part said alone, after an email cue or at the end of a turn (the
rest follows in the next turn), is found by ``find_local_parts`` on the rewritten text.
"""

from __future__ import annotations

import re

from shared.redaction.model import Entity
from shared.redaction.pieces import Piece, gap

GENERIC_TLDS = frozenset(
    "com net org edu gov mil int info biz name pro app dev io ai co me tv ly xyz online site "
    "shop store tech email cloud live blog".split()
)
PROVIDERS = frozenset(
    "gmail googlemail yahoo hotmail outlook icloud aol comcast protonmail proton live msn gmx "
    "yandex zoho fastmail mail verizon att sbcglobal".split()
)
CONNECTORS = {
    "dot": ".", "period": ".", "point": ".", "underscore": "_", "dash": "-", "hyphen": "-",
    "minus": "-", "plus": "+",
}  # fmt: skip
# Words that end a local part when walking back from "at", or a domain walking forward.
STOP = frozenset(
    "is it's its was email email's e-mail mail address me to at my the a an send use try it that "
    "this yes yeah yep okay ok sure and or so please you your can on under with by for from as "
    "be i i'm im our new old just write put have has got reach contact account no sorry wait "
    "actually update change work personal business".split()
)


def _tld(label: str) -> bool:
    label = label.lower()
    return label in GENERIC_TLDS or (len(label) == 2 and label.isalpha())


def _connector(text: str, pieces: list[Piece], k: int, allowed: str) -> tuple[str, int] | None:
    """The connector after piece ``k`` (a word like "dot" or a written "."), and the next piece."""
    if k + 1 >= len(pieces):
        return None
    between = gap(text, pieces[k], pieces[k + 1])
    if between in tuple(allowed):
        return between, k + 1
    word = pieces[k + 1].text.lower()
    # "fastmail, dot, f, m": read letter by letter, every word comes with a pause
    if word in CONNECTORS and between.strip(" \t,") == "" and k + 2 < len(pieces):
        symbol = CONNECTORS[word]
        if symbol in allowed:
            return symbol, k + 2
    return None


def _domain(text: str, pieces: list[Piece], k: int) -> tuple[int, str] | None:
    """The domain starting at piece ``k``: (index of its last piece, written domain)."""
    if k >= len(pieces) or pieces[k].kind == "email":
        return None
    labels = [(k, pieces[k].text)]
    seps: list[str] = []
    idx, loose = k, 0
    while len(labels) < 10:
        step = _connector(text, pieces, idx, ".-")
        if step is None:
            nxt = idx + 1
            if "." in seps or loose >= 3 or nxt >= len(pieces):
                break
            word = pieces[nxt].text.lower()
            # "safaricom mail dot co dot ke": a stop word is a label when a dot follows it.
            label = word not in STOP or word == "and" or _connector(text, pieces, nxt, ".")
            if gap(text, pieces[idx], pieces[nxt]).strip() or not label:
                break
            step, loose = ("", nxt), loose + 1
        symbol, idx = step
        if pieces[idx].kind == "email":
            break
        seps.append(symbol)
        idx, spelled = _spelled_label(text, pieces, idx)
        labels.append((idx, spelled))
    for end in range(len(labels) - 1, 0, -1):
        if _tld(labels[end][1]) and seps[end - 1] == ".":
            pairs = zip(seps[:end], labels[1 : end + 1], strict=True)
            tail = "".join(s + lab for s, (_, lab) in pairs)
            return labels[end][0], (labels[0][1] + tail).lower().replace("'", "")
    if labels[0][1].lower() in PROVIDERS:  # "at gmail": the recognisers want a full domain
        return k, labels[0][1].lower() + ".com"
    return None


def _spelled_label(text: str, pieces: list[Piece], k: int) -> tuple[int, str]:
    """ "dot, f, m": a label spelled letter by letter with pauses is one label ("fm")."""
    label, end = pieces[k].text, k
    while (
        len(label) < 4
        and len(pieces[end].text) == 1
        and end + 1 < len(pieces)
        and len(pieces[end + 1].text) == 1
        and pieces[end + 1].text.isalpha()
        and gap(text, pieces[end], pieces[end + 1]).strip(" \t,") == ""
    ):
        end += 1
        label += pieces[end].text
    return end, label


def _local_part(text: str, pieces: list[Piece], k: int) -> tuple[int, str] | None:
    """Walk back from piece ``k`` (the one before "at"): (index of its first piece, text)."""
    if k < 0 or pieces[k].kind == "email" or k + 1 >= len(pieces):
        return None
    if gap(text, pieces[k], pieces[k + 1]).strip().strip(",@") != "":
        return None
    if pieces[k].kind == "word" and pieces[k].text.lower() in STOP and not _joined(text, pieces, k):
        return None
    parts, first, loose = [pieces[k].text], k, 0
    while first > 0:
        prev = pieces[first - 1]
        between = gap(text, prev, pieces[first])
        word = prev.text.lower()
        if between in (".", "_", "-", "+") and prev.kind != "email":
            parts.insert(0, prev.text + between)
            first -= 1
        elif word in CONNECTORS and between.strip() == "" and first >= 2:
            if pieces[first - 2].kind == "email":
                break
            parts.insert(0, pieces[first - 2].text + CONNECTORS[word])
            first -= 2
        elif (_spelled(prev) or _spelled_as(prev, pieces[first])) and (
            _spelled(pieces[first]) and between.strip(" ,") == ""
        ):
            parts.insert(0, prev.text)  # "m for mike, a, r, c, o at ...": spelled one by one
            first -= 1
        elif loose < 2 and between.strip() == "" and word not in STOP and prev.kind != "email":
            parts.insert(0, prev.text)
            first -= 1
            loose += 1
        else:
            break
    return first, "".join(parts).lower()


def _spelled(piece: Piece) -> bool:
    """A letter said on its own (or already merged with the letters around it)."""
    return piece.kind == "letters" or (len(piece.text) == 1 and piece.text.isalpha())


def _spelled_as(word: Piece, letters: Piece) -> bool:
    """ "lola, l o l a": a word said, then spelled."""
    return word.kind == "word" and word.text.lower() == letters.text.lower()


def _joined(text: str, pieces: list[Piece], k: int) -> bool:
    """Whether piece ``k`` follows a connector ("underscore a at ...") or a spelled letter:
    then even a word like "a" or "me" is part of the local part."""
    if k == 0:
        return False
    before = gap(text, pieces[k - 1], pieces[k])
    if _spelled(pieces[k]) and _spelled(pieces[k - 1]) and before.strip(" ,") == "":
        return True  # "e, n, a at ...": the last of letters spelled one by one
    return before in (".", "_", "-", "+") or (
        pieces[k - 1].text.lower() in CONNECTORS and before.strip() == "" and k >= 2
    )


def _at(text: str, pieces: list[Piece], i: int) -> int | None:
    """Where the domain starts when piece ``i`` is (or follows) an at sign."""
    word = pieces[i].text.lower()
    if word == "at" and pieces[i].kind == "word":
        after = [p.text.lower() for p in pieces[i + 1 : i + 4]]
        if after[:2] == ["the", "rate"]:  # Indian English: "at the rate" is "@"
            return i + (4 if after[2:3] == ["of"] else 3)
        return i + 1
    if i > 0 and "@" in text[pieces[i - 1].end : pieces[i].start]:
        return i
    return None


def merge_emails(text: str, pieces: list[Piece]) -> list[Piece]:
    """Spoken (and written) emails merged into one written piece each."""
    out = list(pieces)
    i = 0
    while i < len(out):
        domain_from = _at(text, out, i)
        if domain_from is None:
            i += 1
            continue
        domain = _domain(text, out, domain_from)
        local = _local_part(text, out, i - 1)
        if domain is None or local is None:
            i += 1
            continue
        first, local_text = local
        last, domain_text = domain
        merged = Piece(f"{local_text}@{domain_text}", out[first].start, out[last].end, "email")
        out[first : last + 1] = [merged]
        i = first + 1
    return out


_CONNECTOR_WORDS = r"(?:dot|underscore|dash|hyphen|period)"
_LOCAL_TOKEN = r"[a-z0-9][a-z0-9']*"
# "john dot smith", "m dot gonzalez underscore": a local part said without its domain.
_LOCAL_RUN = re.compile(
    rf"(?<![\w@.]){_LOCAL_TOKEN}(?:[ \t]+{_CONNECTOR_WORDS}[ \t]+{_LOCAL_TOKEN})+"
    rf"(?:[ \t]+{_CONNECTOR_WORDS})?(?=[ \t]*[.,!?]?[ \t]*(?:\n|$))"
    rf"|(?<![\w@.]){_LOCAL_TOKEN}[ \t]+{_CONNECTOR_WORDS}(?=[ \t]*[.,!?]?[ \t]*(?:\n|$))",
    re.IGNORECASE,
)
_EMAIL_CUE = re.compile(
    r"(?<![\w])(?:e-?mail(?: address)?|email's|(?:gmail|yahoo|hotmail|outlook|icloud|aol|"
    r"proton(?:mail)?)(?: address| account)?)(?![a-z])(?:[ \t]+(?:is|was|it's))?[ \t:,]*"
    rf"(?P<local>{_LOCAL_TOKEN}(?:[ \t]+{_CONNECTOR_WORDS}[ \t]+{_LOCAL_TOKEN}|[ \t]+\d+)*"
    rf"(?:[ \t]+{_CONNECTOR_WORDS})?)(?![\w@.])",
    re.IGNORECASE,
)


def find_local_parts(text: str) -> list[Entity]:
    """Spoken local parts without a domain: after an email cue, or ending a turn."""
    found = [Entity("EMAIL_ADDRESS", m.start(), m.end()) for m in _LOCAL_RUN.finditer(text)]
    for m in _EMAIL_CUE.finditer(text):
        local = m.group("local")
        if local.lower() not in STOP:
            found.append(Entity("EMAIL_ADDRESS", m.start("local"), m.end("local")))
    return found
