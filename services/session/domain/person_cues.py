"""Whether a caller asks for a person (pure text rules, no I/O).

Requests for a person need patterns (no library knows a contact center's phrasing); the
patterns want a request verb or a bare "agent, please", so look-alikes stay out: "the delivery
person", "my manager asked me to call", "is this a human?", "I spoke to an agent yesterday",
"can I pick it up in person", "no need to transfer me", "I need someone to come and fix it".

Families: asking to speak or deal with someone ("can I speak to a person", "I'd rather deal with
a human", "I insist on speaking to a manager", "I want speak with human"); wanting one ("get me
a supervisor", "I request a representative"); being passed on ("transfer me", "pass me to your
colleague at the desk", "you can give me to other person", "kindly refer me to a supervisor");
a bare word ("Agent!", "supervisor please", "human being. now."); not wanting a machine ("no
more robots"); asking whether there are real people ("do you have staff? real ones?").
"""

from __future__ import annotations

import re

from services.session.domain.cues import MAX_CHARS, normalise

_HUMAN = (
    r"(?:(?:a|an|some|the|your|to|one\s+of\s+your)\s+)?"
    r"(?:(?:real|live|actual|proper|human|another|other|senior|different)\s+){0,2}"
    r"(?:person|human(?:\s+being)?|agent|representative|rep|operator|somebody|someone|"
    r"manager|supervisor|employee|staff\s+member|member\s+of\s+(?:staff|the\s+team|your\s+team)|"
    r"customer\s+(?:service|care|support)"
    r"(?:\s+(?:agent|rep|representative|person|people|team))?|team\s+(?:member|leader)|advisor|"
    r"adviser|colleague|boss|superior|whoever\s+(?:is|'s)\s+in\s+charge|"
    r"whoever\s+(?:handles|deals\s+with|is\s+responsible)|"
    r"(?:someone|somebody)\s+(?:senior|in\s+charge|higher\s+up|in\s+authority))"
)
# Who one talks *with*: also anyone, people ("is there anyone I can talk to").
_HUMAN_TALK = (
    r"(?:(?:a|an|any|some|the|your|to|one\s+of\s+your)\s+)?"
    r"(?:(?:real|live|actual|proper|human)\s+)?"
    rf"(?:anyone|anybody|people|humans|{_HUMAN})"
)
# Not a person for the caller: "do I need someone to sign?", "I'll have someone at home",
# "do you have customer service hours?", "I need someone to come out and fix the boiler".
_NOT_FOR_US = (
    r"(?!')(?!\s+(?:to\s+)?(?:sign|be\s+(?:home|there|in)|collect|pick|take|receive|accept|at|home|"
    r"there|here|hours?|number|email|phone|opening|address|policy|desk|department|line|come|"
    r"look|fix|repair|check|inspect|install|deliver|visit|read|tow|drop|bring|out|round|over)\b)"
)
# Words a request for a person is made with, beyond "speak to": deal with, sort it out with.
_TALK = (
    r"(?:speak|talk|chat|deal|(?:have\s+)?a\s+(?:quick\s+)?word|discuss\s+(?:this|it)|"
    r"sort\s+(?:this|it)(?:\s+out)?|go\s+through\s+(?:this|it)|be\s+in\s+contact|get\s+in\s+touch|"
    r"(?:be\s+)?put\s+in\s+(?:contact|touch))"
)
# Being passed on to someone: "pass me to your colleague", "give me to other person".
_PASS = r"(?:transfer|connect|pass|put|hand|send|give|refer|redirect|forward|direct|switch)"
_REQUEST = re.compile(
    r"|".join(
        (
            # can I speak to a person / I'd rather deal with a human / let me talk to an agent
            rf"\b{_TALK}\s+(?:to|with)\s+{_HUMAN_TALK}\b",
            # non-native: "I want speak human", "please talk person"
            rf"\b(?:want|wanna|need|like|please|can\s+i|could\s+i|must)\s+(?:to\s+)?"
            rf"(?:speak|talk)\s+{_HUMAN}\b",
            # I insist on speaking to a manager / I'm asking to talk with someone
            rf"\b(?:insist\s+on|demand(?:ing)?|request(?:ing)?|ask(?:ing)?\s+(?:to|for)|"
            rf"keep\s+asking\s+(?:to|for)|rather\s+be|prefer|(?:chance|possibility|way)\s+of)\s+"
            rf"(?:speaking|talking|speak|talk|chat|"
            rf"chatting)\s+(?:to|with)\s+{_HUMAN_TALK}\b",
            # I want / need / would like / would prefer a human; get me a person
            rf"\b(?:want|need|like|prefer|rather\s+have|get\s+me|give\s+me|find\s+me|have|"
            rf"demand|request|ask(?:ing)?\s+for|insist\s+on)\s+{_HUMAN}\b{_NOT_FOR_US}",
            # can I get a manager / could I have someone / could you get somebody for me
            rf"\b(?:can|could|may)\s+i\s+(?:please\s+)?(?:get|have)\s+{_HUMAN}\b{_NOT_FOR_US}",
            rf"\b(?:can|could|would)\s+you\s+(?:please\s+)?(?:get|fetch|find)\s+{_HUMAN}\s+"
            r"(?:for\s+me|please|on)\b",
            # a manager I can talk to / someone I could speak with (asked or wished for)
            rf"\b{_HUMAN_TALK}\s+(?:that\s+|who\s+)?(?:i|we)\s+(?:can|could|might|may)\s+"
            rf"(?:actually\s+|just\s+)?{_TALK}\b",
            # transfer / connect / put / pass me through (to a person)
            r"\b(?:transfer|connect)\s+me\b(?:\s+(?:through|over|to|with)\b)?",
            r"\bput\s+me\s+(?:through|over|to|with|in\s+touch|in\s+contact)\b",
            # pass me to your colleague at the desk / kindly refer me to a supervisor
            rf"\b{_PASS}\s+me\s+(?:(?:back|over|on|through|across)\s+)?(?:to|with)\s+"
            rf"{_HUMAN_TALK}\b",
            r"\b(?:pass|hand|send|refer|forward|redirect)\s+me\s+(?:through|over|on)\s+to\b",
            r"\b(?:pass|hand)\s+me\s+(?:to|on)\b(?!\s+(?:the\s+|your\s+)?(?:website|web|app|"
            r"page|link|form|faq|online|terms|section|policy|document))",
            # connect with operator / put to a supervisor (non-native, no "me")
            rf"\b(?:connect|transfer|put|pass)\s+(?:with|to)\s+{_HUMAN}\s*(?:please|now|[.!]|$)",
            # I'd like to be transferred / can I get put through
            r"\b(?:want|need|like|can\s+i|could\s+i|may\s+i|let\s+me|wish|ask|request)\s+"
            r"(?:to\s+)?(?:be|get)\s+(?:transferred|connected|put\s+through|passed\s+(?:on|over)|"
            r"referred|escalated)\b",
            r"\btransfer\s+(?:this|the|my)\s+call\b",
            # get a supervisor on the line / put a manager on
            rf"\b(?:get|put)\s+{_HUMAN}\s+on(?:\s+the\s+(?:line|phone)|\s*(?:please|now|[.!]|$))",
            # bare: "agent", "representative please", "human!", "human being. now."
            r"^\s*(?:(?:an?|the)\s+)?(?:real\s+|live\s+)?(?:agent|representative|rep|operator|"
            r"human(?:\s+being)?|person|real\s+person|someone\s+real)(?:\s*(?:,|\.|!)?\s*(?:please|"
            r"now|agent|representative|operator|human|right\s+now|immediately))*\s*[.!]*\s*$",
            # I don't want a robot / stop, no more bots
            r"\b(?:not|no|don't|do\s+not|tired\s+of|enough\s+of|stop)\s+(?:want\s+(?:to\s+)?)?"
            r"(?:talk(?:ing)?\s+(?:to|with)\s+)?(?:a\s+|this\s+|the\s+|your\s+|more\s+)?"
            r"(?:stupid\s+)?(?:robot|machine|bot|computer|automated\s+system|ai)s?\b",
            # is there a person I can talk to / anyone real there / is there a manager about
            rf"\b(?:is|are)\s+there\s+(?:any\s+way\s+)?{_HUMAN_TALK}\b.{{0,40}}\b{_TALK}\b",
            # escalate this / escalate me / escalate my call / have this escalated to a manager
            r"\bescalate\s+(?:this|me|my|the)\b",
            rf"\bescalat(?:e|ed|ing)\b[^,.;!?]{{0,20}}\bto\s+{_HUMAN}\b",
        )
    ),
    re.IGNORECASE,
)
# Across clauses: "do you have customer service people? real ones?", "do you have any staff,
# actual humans?", "... staff who do that? I'd like one of them", "other person please, the
# one who works there, real one".
_PEOPLE = r"(?:people|humans|staff|agents|representatives|reps|persons|team)"
_REAL_PEOPLE = re.compile(
    r"|".join(
        (
            rf"\b{_PEOPLE}\b\W+(?:\w+\W+){{0,3}}?(?:real|actual|live|human)\s+ones\b",
            r"\b(?:do\s+you\s+(?:even\s+)?have|have\s+you\s+got|are\s+there|is\s+there)\b"
            r"[^?]{0,50}?\b(?:real|actual|live)\s+(?:ones|people|humans?|persons?|staff|beings)\b",
            rf"\b{_PEOPLE}\b.{{0,80}}?\b(?:like|want|need|talk\s+to|speak\s+(?:to|with)|get|have)"
            r"\s+one\s+of\s+(?:them|those|you)\b",
            r"\b(?:person|someone|somebody|human|agent)\b[^?]{0,60}\b(?:a\s+|the\s+)?real\s+one\b",
        )
    ),
    re.IGNORECASE,
)
# A sentence that is only a senior person and insistence: "supervisor please", "Manager. Now.",
# "a supervisor!" (not "the manager." answering "who did you speak to?").
_BARE_INSISTENT = re.compile(
    r"(?:^|[.!?;]\s*)(?:(?:an?|your)\s+)?(?:supervisor|manager|team\s+leader|somebody|someone|"
    r"customer\s+service)\s*(?:[,.]?\s*(?:please|now|right\s+now|immediately)\b|!)"
    r"[\s.!]*(?:$|[.!?])",
    re.IGNORECASE,
)
# A question about who answers is not a request: "is this a real person?", "are you human?".
_IDENTITY = re.compile(
    r"\b(?:is\s+(?:this|that|it)|are\s+(?:you|they|these|those)|am\s+i\s+(?:talking|speaking)"
    r"\s+(?:to|with))\b",
    re.IGNORECASE,
)
# A question about what the caller must do, or what someone else will do, is not a request:
# "do I have to deal with a person at the counter?", "my husband will speak to the manager".
_NOT_A_REQUEST = re.compile(
    r"\b(?:do|will|would|should)\s+i\s+(?:have|need)\s+to\b|\bwho\s+(?:do|should|can)\s+i\b|"
    r"\b(?:he|she|they|my\s+(?:husband|wife|son|daughter|partner|friend|neighbou?r|mum|mom|dad|"
    r"carer))\s+(?:will|'ll|is\s+going\s+to|usually|already)\b",
    re.IGNORECASE,
)
# The same clause says it is not a request ("no need to transfer me", "I don't need an agent").
_NEGATED = re.compile(
    r"\b(?:no\s+need|don't|do\s+not|doesn't|didn't|never|not|won't|wouldn't\s+want)\b"
    r"[^,.;!?]{0,25}\b(?:speak|talk|want|need|transfer|connect|put|get|escalate|pass)\b",
    re.IGNORECASE,
)
_TALK_OR_WANT = re.compile(
    r"\b(?:speak|talk|chat|deal|want|need|like|prefer|rather|transfer|connect|put)\b", re.IGNORECASE
)
_ROBOT = re.compile(r"\b(?:robot|machine|bot|computer|automated|ai)s?\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,.;!?]+|\bbut\b", re.IGNORECASE)


def asks_for_person(text: str) -> bool:
    """Whether the caller explicitly asks for a person in this utterance."""
    text = normalise(text[:MAX_CHARS])
    if _REAL_PEOPLE.search(text) or _BARE_INSISTENT.search(text):
        return True
    for clause in _CLAUSE.split(text):
        if not _REQUEST.search(clause):
            continue
        # "I don't want a robot" is a request; "I don't want to talk to an agent" is not.
        if _NEGATED.search(clause) and not _ROBOT.search(clause):
            continue
        if _IDENTITY.search(clause) and not _TALK_OR_WANT.search(clause):
            continue
        if _NOT_A_REQUEST.search(clause):
            continue
        return True
    return False
