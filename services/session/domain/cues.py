"""What one utterance says about the call: a request for a person, an agent's "sorry, I didn't
get that", a question asked again (pure text rules, no I/O).

Requests for a person need patterns (no library knows a contact center's phrasing); the
patterns want a request verb or a bare "agent, please", so look-alikes stay out: "the delivery
person", "my manager asked me to call", "is this a human?", "I spoke to an agent yesterday",
"can I pick it up in person", "no need to transfer me".
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Only this much of an utterance is examined: requests and repeats are said early and short.
MAX_CHARS = 400

_HUMAN = (
    r"(?:(?:a|an|some|the|your|to)\s+)?(?:(?:real|live|actual|proper|human|another)\s+)?"
    r"(?:person|human(?:\s+being)?|agent|representative|rep|operator|somebody|someone|"
    r"manager|supervisor|employee|staff\s+member|customer\s+(?:service|care|support)"
    r"(?:\s+(?:agent|rep|representative|person))?|team\s+member|advisor|adviser)"
)
_REQUEST = re.compile(
    r"|".join(
        (
            # can I speak to a person / I want to talk with someone / let me talk to an agent
            rf"\b(?:speak|talk|chat)\s+(?:to|with)\s+{_HUMAN}\b",
            # I want / need / would like a human; get me a person; give me an agent
            rf"\b(?:want|need|like|get\s+me|give\s+me|find\s+me|have)\s+{_HUMAN}\b",
            # transfer / connect / put me through (to a person)
            r"\b(?:transfer|connect|put)\s+me\b(?:\s+(?:through|over|to|with)\b)?",
            r"\btransfer\s+(?:this|the)\s+call\b",
            # bare: "agent", "representative please", "human!", "operator operator"
            r"^\s*(?:(?:an?|the)\s+)?(?:real\s+|live\s+)?(?:agent|representative|rep|operator|"
            r"human|person|real\s+person|someone\s+real)(?:\s*(?:,|\.|!)?\s*(?:please|now|"
            r"agent|representative|operator|human))*\s*[.!]*\s*$",
            # I don't want a robot / stop, no more bots
            r"\b(?:not|no|don't|do\s+not|tired\s+of|enough\s+of|stop)\s+(?:want\s+(?:to\s+)?)?"
            r"(?:talk(?:ing)?\s+(?:to|with)\s+)?(?:a\s+|this\s+|the\s+|your\s+)?(?:stupid\s+)?"
            r"(?:robot|machine|bot|computer|automated\s+system|ai)\b",
            # is there a person I can talk to / anyone real there
            r"\b(?:is\s+there|are\s+there)\s+(?:a\s+|an\s+)?(?:real\s+|actual\s+)?(?:person|"
            r"human|anyone|anybody|someone|somebody)\b.{0,30}\b(?:talk|speak)\b",
            # escalate this / escalate me / escalate my call
            r"\bescalate\s+(?:this|me|my|the)\b",
        )
    ),
    re.IGNORECASE,
)
# The same clause says it is not a request ("no need to transfer me", "I don't need an agent").
_NEGATED = re.compile(
    r"\b(?:no\s+need|don't|do\s+not|doesn't|didn't|never|not|won't|wouldn't\s+want)\b"
    r"[^,.;!?]{0,25}\b(?:speak|talk|want|need|transfer|connect|put|get|escalate)\b",
    re.IGNORECASE,
)
_ROBOT = re.compile(r"\b(?:robot|machine|bot|computer|automated|ai)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,.;!?]+|\bbut\b", re.IGNORECASE)


def asks_for_person(text: str) -> bool:
    """Whether the caller explicitly asks for a person in this utterance."""
    text = _normalise(text[:MAX_CHARS])
    for clause in _CLAUSE.split(text):
        if not _REQUEST.search(clause):
            continue
        # "I don't want a robot" is a request; "I don't want to talk to an agent" is not.
        if _NEGATED.search(clause) and not _ROBOT.search(clause):
            continue
        return True
    return False


# An agent's reply that says it did not understand, could not help, or fell back.
_FALLBACK = re.compile(
    r"|".join(
        (
            r"\b(?:sorry|apologi[sz]e)\b[^.?!]{0,40}\b(?:didn't|did\s+not|couldn't|could\s+not|"
            r"don't|do\s+not|can't|cannot|wasn't\s+able\s+to|am\s+not\s+able\s+to)\s+"
            r"(?:quite\s+)?(?:get|catch|understand|hear|follow|find|help\s+with)\b",
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
    text = _normalise(text[:MAX_CHARS])
    phrase = _normalise(fallback_phrase).strip()
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
    questions = _QUESTION.findall(_normalise(text[:MAX_CHARS]))
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
    words = _WORDS.findall(_normalise(text[:MAX_CHARS]))
    if len(words) >= 4 or (words and any(ch.isdigit() for ch in "".join(words))):
        return " ".join(words)
    return None


def same(a: str, b: str) -> bool:
    """Whether two normalised texts are (nearly) the same."""
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio() >= SAME_RATIO


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()
