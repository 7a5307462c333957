"""What an agent reply says about the call, and how utterances are compared (pure text rules,
no I/O): an agent's "sorry, I didn't get that", the question or statement of a reply (to tell
one said again), the numbers and days that tell two answers apart, and the shared text helpers.

The caller's side lives beside it: requests for a person in ``person_cues``, corrections and
loop complaints in ``loop_cues``, anger in ``anger_cues``.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Only this much of an utterance is examined: requests and repeats are said early and short.
MAX_CHARS = 400

# An agent's reply that says it did not understand, could not help, or fell back.
_FALLBACK = re.compile(
    r"|".join(
        (
            r"\b(?:sorry|apologi[sz]e|afraid|unfortunately)\b[^.?!]{0,40}\b(?:didn't|did\s+not|"
            r"couldn't|could\s+not|don't|do\s+not|can't|cannot|wasn't\s+able\s+to|"
            r"am\s+not\s+able\s+to|(?:i'm|i\s+am)\s+unable\s+to)\s+"
            r"(?:quite\s+)?(?:get|catch|understand|hear|follow|find|help\s+with|assist\s+with)\b",
            r"\bi\s+can\s+only\s+help\s+with\b",
            r"\b(?:could|can|would)\s+you\s+(?:please\s+)?(?:repeat|rephrase|say\s+(?:that|it)"
            r"\s+again)\b",
            r"\bi'm\s+not\s+sure\s+(?:i\s+)?(?:understand|understood|follow|what\s+you\s+mean)\b",
            r"\bi'm\s+having\s+trouble\b",
            r"\bi\s+didn't\s+(?:quite\s+)?(?:get|catch|understand)\s+that\b",
        )
    ),
    re.IGNORECASE,
)


def is_fallback_reply(text: str, fallback_phrase: str = "") -> bool:
    """Whether an agent reply is a "sorry, I didn't get that" (or the line's fallback phrase)."""
    text = normalise(text[:MAX_CHARS])
    phrase = normalise(fallback_phrase).strip()
    return bool(_FALLBACK.search(text)) or bool(phrase and phrase in text)


# Questions every agent asks again and again in a good call: not a loop.
_ROUTINE_QUESTION = re.compile(
    r"\b(?:anything\s+else|something\s+else|what\s+else|how\s+(?:else\s+)?can\s+i\s+help|"
    r"how\s+may\s+i\s+help|is\s+that\s+(?:all|right|correct)|did\s+i\s+get\s+that\s+right|"
    r"are\s+you\s+still\s+there)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(r"[^.?!]*\?")
_WORDS = re.compile(r"[a-z0-9]+")
# Two texts at least this similar (difflib ratio of their words) are the same said again.
SAME_RATIO = 0.8


def agent_question(text: str) -> str | None:
    """The reply's last question, normalised; None if it asks nothing or only a routine one."""
    questions = _QUESTION.findall(normalise(text[:MAX_CHARS]))
    if not questions:
        return None
    question = questions[-1]
    if _ROUTINE_QUESTION.search(question):
        return None
    words = _WORDS.findall(question)
    return " ".join(words) if len(words) >= 3 else None


def caller_statement(text: str) -> str | None:
    """The utterance normalised for comparison; None when too short to be a repeat worth
    counting ("yes", "no", "thanks"), unless it holds a number (an order id said again)."""
    words = _WORDS.findall(normalise(text[:MAX_CHARS]))
    if len(words) >= 4 or (words and any(ch.isdigit() for ch in "".join(words))):
        return " ".join(words)
    return None


_SENTENCE = re.compile(r"[^.?!]+[.?!]*")
# Sentences this short are pleasantries ("I'm sorry.", "Okay."), not what the agent said.
MIN_STATEMENT_WORDS = 5


def agent_statement(text: str, fallback_phrase: str = "") -> str | None:
    """What the reply says, for comparison with earlier replies: its sentences less routine
    questions ("anything else?"), "sorry, I didn't get that" and pleasantries; None when
    nothing of substance is left."""
    kept = []
    for sentence in _SENTENCE.findall(normalise(text[:MAX_CHARS])):
        words = _WORDS.findall(sentence)
        if len(words) < 3 or _ROUTINE_QUESTION.search(sentence):
            continue
        if is_fallback_reply(sentence, fallback_phrase):
            continue
        kept.append(" ".join(words))
    statement = " ".join(kept)
    return statement if len(statement.split()) >= MIN_STATEMENT_WORDS else None


# What tells two answers of the same shape apart: numbers, ids, days ("ORD-1 arrives Monday",
# "ORD-2 arrives Thursday" are two answers, not one said twice).
_FACT = re.compile(
    r"\b(?:\w*\d\w*|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|tomorrow|"
    r"yesterday|january|february|march|april|may|june|july|august|september|october|november|"
    r"december)\b"
)


def facts(statement: str) -> frozenset[str]:
    """The numbers, ids and days a normalised statement holds."""
    return frozenset(_FACT.findall(statement))


def same(a: str, b: str) -> bool:
    """Whether two normalised texts are (nearly) the same."""
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio() >= SAME_RATIO


def normalise(text: str) -> str:
    """Lower case, typographic apostrophes made plain."""
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()
