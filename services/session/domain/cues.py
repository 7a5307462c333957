"""What one utterance says about the call: a request for a person, an agent's "sorry, I didn't
get that", a question or statement said again, a caller correcting the agent or saying the call
goes round in circles (pure text rules, no I/O).

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
    r"(?:(?:a|an|some|the|your|to|one\s+of\s+your)\s+)?"
    r"(?:(?:real|live|actual|proper|human|another|senior)\s+){0,2}"
    r"(?:person|human(?:\s+being)?|agent|representative|rep|operator|somebody|someone|"
    r"manager|supervisor|employee|staff\s+member|customer\s+(?:service|care|support)"
    r"(?:\s+(?:agent|rep|representative|person|people|team))?|team\s+(?:member|leader)|advisor|"
    r"adviser|colleague|boss|superior|whoever\s+(?:is|'s)\s+in\s+charge|"
    r"(?:someone|somebody)\s+(?:senior|in\s+charge|higher\s+up))"
)
# Who one talks *with*: also anyone, people ("is there anyone I can talk to").
_HUMAN_TALK = (
    r"(?:(?:a|an|any|some|the|your|to|one\s+of\s+your)\s+)?"
    r"(?:(?:real|live|actual|proper|human)\s+)?"
    rf"(?:anyone|anybody|people|humans|{_HUMAN})"
)
# Not a person for the caller: "do I need someone to sign?", "I'll have someone at home",
# "do you have customer service hours?".
_NOT_FOR_US = (
    r"(?!\s+(?:to\s+)?(?:sign|be\s+(?:home|there|in)|collect|pick|take|receive|accept|at|home|"
    r"there|here|hours?|number|email|phone|opening|address|policy|desk|department|line)\b)"
)
# Words a request for a person is made with, beyond "speak to": deal with, sort it out with.
_TALK = (
    r"(?:speak|talk|chat|deal|have\s+a\s+word|discuss\s+(?:this|it)|sort\s+(?:this|it)(?:\s+out)?|"
    r"go\s+through\s+(?:this|it))"
)
_REQUEST = re.compile(
    r"|".join(
        (
            # can I speak to a person / I'd rather deal with a human / let me talk to an agent
            rf"\b{_TALK}\s+(?:to|with)\s+{_HUMAN_TALK}\b",
            # I want / need / would like / would prefer a human; get me a person
            rf"\b(?:want|need|like|prefer|rather\s+have|get\s+me|give\s+me|find\s+me|have)\s+"
            rf"{_HUMAN}\b{_NOT_FOR_US}",
            # can I get a manager / could I have someone
            rf"\b(?:can|could|may)\s+i\s+(?:please\s+)?(?:get|have)\s+{_HUMAN}\b{_NOT_FOR_US}",
            # a manager I can talk to / someone I could speak with (asked or wished for)
            rf"\b{_HUMAN_TALK}\s+(?:that\s+|who\s+)?(?:i|we)\s+(?:can|could|might|may)\s+"
            rf"(?:actually\s+|just\s+)?{_TALK}\b",
            # transfer / connect / put / pass me through (to a person)
            r"\b(?:transfer|connect)\s+me\b(?:\s+(?:through|over|to|with)\b)?",
            r"\bput\s+me\s+(?:through|over|to|with|in\s+touch)\b",
            # I'd like to be transferred / can I get put through
            r"\b(?:want|need|like|can\s+i|could\s+i|may\s+i|let\s+me)\s+(?:to\s+)?(?:be|get)\s+"
            r"(?:transferred|connected|put\s+through|passed\s+(?:on|over))\b",
            r"\b(?:pass|hand|send)\s+me\s+(?:through|over|on)\s+to\b",
            r"\btransfer\s+(?:this|the)\s+call\b",
            # get a supervisor on the line
            rf"\bget\s+{_HUMAN}\s+on\s+the\s+(?:line|phone)\b",
            # bare: "agent", "representative please", "human!", "operator operator"
            r"^\s*(?:(?:an?|the)\s+)?(?:real\s+|live\s+)?(?:agent|representative|rep|operator|"
            r"human|person|real\s+person|someone\s+real)(?:\s*(?:,|\.|!)?\s*(?:please|now|"
            r"agent|representative|operator|human))*\s*[.!]*\s*$",
            # I don't want a robot / stop, no more bots
            r"\b(?:not|no|don't|do\s+not|tired\s+of|enough\s+of|stop)\s+(?:want\s+(?:to\s+)?)?"
            r"(?:talk(?:ing)?\s+(?:to|with)\s+)?(?:a\s+|this\s+|the\s+|your\s+)?(?:stupid\s+)?"
            r"(?:robot|machine|bot|computer|automated\s+system|ai)\b",
            # is there a person I can talk to / anyone real there / is there a manager about
            rf"\b(?:is|are)\s+there\s+(?:any\s+way\s+)?{_HUMAN_TALK}\b.{{0,40}}\b{_TALK}\b",
            # escalate this / escalate me / escalate my call
            r"\bescalate\s+(?:this|me|my|the)\b",
        )
    ),
    re.IGNORECASE,
)
# Across clauses: "do you have customer service people? real ones?", "do you have any staff,
# actual humans?", "... staff who do that? I'd like one of them".
_PEOPLE = r"(?:people|humans|staff|agents|representatives|reps|persons|team)"
_REAL_PEOPLE = re.compile(
    r"|".join(
        (
            rf"\b{_PEOPLE}\b\W+(?:\w+\W+){{0,3}}?(?:real|actual|live|human)\s+ones\b",
            r"\b(?:do\s+you\s+(?:even\s+)?have|have\s+you\s+got|are\s+there|is\s+there)\b"
            r"[^?]{0,50}?\b(?:real|actual|live)\s+(?:ones|people|humans?|persons?|staff|beings)\b",
            rf"\b{_PEOPLE}\b.{{0,80}}?\b(?:like|want|need|talk\s+to|speak\s+(?:to|with)|get|have)"
            r"\s+one\s+of\s+(?:them|those|you)\b",
        )
    ),
    re.IGNORECASE,
)
# A question about who answers is not a request: "is this a real person?", "are you human?".
_IDENTITY = re.compile(
    r"\b(?:is\s+(?:this|that|it)|are\s+(?:you|they|these|those)|am\s+i\s+(?:talking|speaking)"
    r"\s+(?:to|with))\b",
    re.IGNORECASE,
)
# The same clause says it is not a request ("no need to transfer me", "I don't need an agent").
_NEGATED = re.compile(
    r"\b(?:no\s+need|don't|do\s+not|doesn't|didn't|never|not|won't|wouldn't\s+want)\b"
    r"[^,.;!?]{0,25}\b(?:speak|talk|want|need|transfer|connect|put|get|escalate)\b",
    re.IGNORECASE,
)
_TALK_OR_WANT = re.compile(
    r"\b(?:speak|talk|chat|deal|want|need|like|prefer|rather|transfer|connect|put)\b", re.IGNORECASE
)
_ROBOT = re.compile(r"\b(?:robot|machine|bot|computer|automated|ai)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,.;!?]+|\bbut\b", re.IGNORECASE)


def asks_for_person(text: str) -> bool:
    """Whether the caller explicitly asks for a person in this utterance."""
    text = _normalise(text[:MAX_CHARS])
    if _REAL_PEOPLE.search(text):
        return True
    for clause in _CLAUSE.split(text):
        if not _REQUEST.search(clause):
            continue
        # "I don't want a robot" is a request; "I don't want to talk to an agent" is not.
        if _NEGATED.search(clause) and not _ROBOT.search(clause):
            continue
        if _IDENTITY.search(clause) and not _TALK_OR_WANT.search(clause):
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


_SENTENCE = re.compile(r"[^.?!]+[.?!]*")
# Sentences this short are pleasantries ("I'm sorry.", "Okay."), not what the agent said.
MIN_STATEMENT_WORDS = 5


def agent_statement(text: str, fallback_phrase: str = "") -> str | None:
    """What the reply says, for comparison with earlier replies: its sentences less routine
    questions ("anything else?"), "sorry, I didn't get that" and pleasantries; None when
    nothing of substance is left."""
    kept = []
    for sentence in _SENTENCE.findall(_normalise(text[:MAX_CHARS])):
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


# The caller says the agent got it wrong: "no, don't cancel it", "not a return, the address",
# "that's not what I said", "I said the blue one".
_CORRECTION = re.compile(
    r"|".join(
        (
            r"\b(?:don't|do\s+not|stop)\b[\s,.!]*(?:\w+ing\s+)?(?:cancel|book|send|start|return|"
            r"refund|change|process|order|charge|close|delete|remove|do\s+(?:that|it|this))\w*",
            r"\bno\b[\s,.!]*(?:no\b[\s,.!]*)*not\s+(?:a\s+|an\s+|the\s+|to\s+)?"
            r"(?!yet|really|sure|quite|now|today|exactly|at|right|much|anymore|that\b|there|here)"
            r"(?:\w+\s+){0,2}\w+\s*[,.;-]+\s*(?:the|a|an|i|it's|my|i'm|i\s+want|i\s+need)\b",
            r"\bthat's\s+not\s+what\s+i\s+(?:said|asked|meant|want|need|wanted|said)\b",
            r"\bi\s+(?:never|didn't|did\s+not)\s+(?:say|said|ask|asked|want|wanted)\b",
            r"^\W*(?:no\W+)*i\s+(?:said|meant|asked\s+(?:for|about))\b",
            r"^\W*(?:no\W+)*wrong\b",
            r"\bas\s+i\s+(?:said|told\s+you|mentioned|explained)\b",
            r"\byou(?:'re|\s+are)\s+not\s+understanding\b",
            r"\byou\s+(?:don't|do\s+not|didn't|did\s+not)\s+(?:understand|get\s+it)\b",
            r"\byou(?:'ve|\s+have)?\s+(?:misunderstood|got\s+(?:it|that|me)\s+wrong)\b",
        )
    ),
    re.IGNORECASE,
)
# The caller says the call goes round in circles: "you keep saying the same thing", "I've said
# it three times", "I already told you", "are you even listening?".
_LOOP_COMPLAINT = re.compile(
    r"|".join(
        (
            r"\byou\s+keep\s+(?:on\s+)?(?:saying|asking|telling|repeating|giving)\b",
            r"\b(?:round|around)\s+in\s+circles\b",
            r"\bsame\s+thing\s+(?:again|over)\b",
            r"\bi(?:'ve|\s+have)?\s+(?:already|just)\s+(?:told|said|gave|given|did|explained|"
            r"answered)\b",
            r"\balready\s+told\s+you\b",
            r"\b(?:said|told\s+you|repeated|explained|asked|given\s+you)\s+(?:it\s+|that\s+|this\s+)?"
            r"(?:like\s+)?(?:twice|(?:three|four|five|several|many|\d+)\s+times)\b",
            r"\bhow\s+many\s+(?:more\s+)?times\b",
            r"\b(?:we've|we\s+have)\s+(?:been\s+(?:over|through)|done)\s+(?:this|that)\b",
            r"\b(?:round|around)\s+and\s+(?:round|around)\b",
            r"\b(?:are\s+you\s+(?:even\s+)?|you're\s+not\s+|you\s+are\s+not\s+|not\s+even\s+)"
            r"listening\b",
            r"\b(?:is\s+)?(?:anything|any\s+of\s+this)\s+getting\s+through\b",
            r"\b(?:are\s+you|you're|is\s+it)\s+stuck\b",
        )
    ),
    re.IGNORECASE,
)


def is_correction(text: str) -> bool:
    """Whether the caller corrects the agent ("no, don't cancel it", "I said the blue one")."""
    return bool(_CORRECTION.search(_normalise(text[:MAX_CHARS])))


def is_loop_complaint(text: str) -> bool:
    """Whether the caller says the call is going round in circles."""
    return bool(_LOOP_COMPLAINT.search(_normalise(text[:MAX_CHARS])))


def same(a: str, b: str) -> bool:
    """Whether two normalised texts are (nearly) the same."""
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio() >= SAME_RATIO


def _normalise(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").lower()
