"""A loop from the caller's side (pure text rules, no I/O): the caller corrects the agent, says
the call goes round in circles, or spells a word out again and again as one does for a machine
that does not get it.

- corrections: "no, don't cancel it", "not a return, the address", "not broadband, not tv",
  "it's a cat, not a bag", "I said the blue one", "no, that's wrong", "you misheard me";
- loop complaints: "you keep saying the same thing", "I've said it three times", "three times
  now I've asked", "I already told you", "this is going nowhere", "like talking to a wall",
  "you're not helping", "I keep repeating myself", "you not understand" (non-native);
- a word spelled out again, one the caller said before too: "address. delivery address. mill
  lane", "fourteen. one four. june fourteen" (``spelled_out``; ``Repeats`` compares).

An answer to the agent's question is none of them: "no, not yet", "no, the other one", "not
sure, the receipt's gone", "it's a gift, not for me".
"""

from __future__ import annotations

import re

from services.session.domain.cues import MAX_CHARS, normalise

# What the agent was wrongly about to do: "don't cancel it", "do not confirm".
_ACTION = (
    r"(?:cancel|book|send|start|return|refund|change|process|order|charge|close|delete|remove|"
    r"confirm|move|pay|renew|transfer|switch|upgrade|downgrade|submit|proceed|continue|rebook|"
    r"reschedule|extend|block|ship|dispatch|go\s+ahead|do\s+(?:that|it|this))"
)
# Words after "not" that answer rather than correct: "not yet", "not sure", "not great".
_NOT_AN_ANSWER = (
    r"(?!yet|really|sure|quite|now|today|tonight|tomorrow|exactly|at\b|right|much|anymore|that\b|"
    r"there|here|bad|great|good|too|so\b|very|me\b|us\b|him\b|her\b|one\b|always|usually|often|"
    r"recently|since|for\b|in\b|on\b|after|before|until|working|showing|available|happy|mine|"
    r"yours|ours|his\b|hers|theirs|"
    r"arrived|broken|long|many|enough|since|ever|even|all\b)"
)
_CORRECTION = re.compile(
    r"|".join(
        (
            rf"\b(?:don't|do\s+not|stop)\b[\s,.!]*(?:\w+ing\s+)?{_ACTION}\w*",
            # no, not the contract, only the sports / no no, not the red one, the blue one
            r"\bno\b[\s,.!]*(?:no\b[\s,.!]*)*not\s+(?:a\s+|an\s+|the\s+|to\s+)?"
            rf"{_NOT_AN_ANSWER}(?:\w+\s+){{0,2}}\w+\s*[,.;-]+\s*(?:the|a|an|i|it's|my|i'm|"
            r"i\s+want|i\s+need|only|just|but|we|our)\b",
            # not broadband, not tv / not picture, sound (the whole utterance)
            rf"^\W*not\s+(?:(?:a|an|the|my)\s+)?{_NOT_AN_ANSWER}\w+(?:\s+\w+)?\s*[,.;-]+\s*"
            r"(?:not\b|(?:(?:a|an|the|my)\s+)?\w+(?:\s+\w+)?\s*[.!]*\s*$)",
            # it's a cat, not a bag / I want a refund, not a voucher
            r"\b(?:it's|it\s+is|i\s+said|i\s+mean|i\s+meant|i\s+want|i\s+need|i\s+asked\s+for)\s+"
            rf"(?:(?:a|an|the|my)\s+)?\w+(?:\s+\w+)?\s*,?\s+not\s+(?:(?:a|an|the|my)\s+)?"
            rf"{_NOT_AN_ANSWER}\w+",
            # golden wok is fine, it's the address
            r"\bis\s+(?:fine|ok|okay|right|correct)\b[\s,.;]+(?:it's|it\s+is|but)\s+the\b",
            r"\bthat's\s+not\s+what\s+i\s+(?:said|asked|meant|want|need|wanted|requested)\b",
            r"^\W*not\s+what\s+i\s+(?:said|asked|meant|wanted)\b",
            r"\bthat\s+is\s+not\s+what\s+i\s+(?:said|asked|meant|want|wanted|requested)\b",
            r"\bi\s+(?:never|didn't|did\s+not)\s+(?:say|said|ask|asked|want|wanted|request|"
            r"requested|mention|mentioned|agree|agreed)\b",
            r"^\W*(?:no\W+)*i\s+(?:said|meant|asked\s+(?:for|about))\b(?!\s+to\b)",
            r"^\W*(?:no\W+)*wrong\b",
            r"^\W*(?:no\W+)+(?:that's|that\s+is|it's|is)\s+(?:not\s+(?:right|correct)|wrong|"
            r"incorrect)\b",
            r"\bas\s+i\s+(?:said|told\s+you|mentioned|explained|have\s+(?:said|explained|told))\b",
            r"\byou(?:'re|\s+are)\s+not\s+understanding\b",
            r"\byou\s+(?:don't|do\s+not|didn't|did\s+not|not|no)\s+(?:seem\s+to\s+)?"
            r"(?:understand|get\s+it|listen|hear\s+me)\b",
            r"\byou(?:'ve|\s+have)?\s+(?:misunderstood|misheard|got\s+(?:it|that|me)\s+wrong|"
            r"heard\s+(?:it\s+|me\s+)?wrong|got\s+the\s+wrong)\b",
        )
    ),
    re.IGNORECASE,
)
_LOOP_COMPLAINT = re.compile(
    r"|".join(
        (
            r"\byou\s+keep\s+(?:on\s+)?(?:saying|asking|telling|repeating|giving)\b",
            r"\bi\s+keep\s+(?:on\s+)?(?:telling|saying|repeating|explaining)\b",
            r"\brepeat(?:ing)?\s+myself\b",
            r"\b(?:round|around)\s+in\s+circles\b",
            r"\bsame\s+thing\s+(?:again|over)\b",
            r"\bsame\s+(?:questions?|answers?|script|response|reply|replies)\b[^.!?]{0,20}"
            r"\b(?:again|every\s+time|each\s+time|over\s+and\s+over)\b",
            r"\b(?:ask|say|tell|repeat)\w*\s+(?:me\s+)?(?:\w+\s+){0,3}again\s+and\s+again\b",
            r"\bi(?:'ve|\s+have)?\s+(?:already|just)\s+(?:told|said|gave|given|explained|answered|"
            r"did(?=\s*(?:[,.!?;]|$|that\b|it\b|so\b)))\b",
            r"\balready\s+told\s+you\b",
            r"\b(?:told|said|say|explained)\s+(?:you\s+|it\s+|this\s+|that\s+)?"
            r"(?:already|before)\b",
            r"\byou(?:'ve|\s+have)?\s+already\s+asked\b",
            r"\byou\s+asked\s+(?:me\s+)?(?:that|this|it)\s+(?:already|before)\b",
            r"\b(?:said|stated|told\s+you|repeated|explained|asked|given\s+you|mentioned)\s+"
            r"(?:it\s+|that\s+|this\s+)?"
            r"(?:like\s+)?(?:twice|(?:three|four|five|several|many|\d+)\s+times)\b",
            r"\b(?:twice|(?:two|three|four|five|several|many|\d+)\s+times)\s+(?:now\s+)?"
            r"(?:i(?:'ve|\s+have)?)\s+(?:asked|said|told|explained|repeated|mentioned)\b",
            r"\bfor\s+the\s+(?:second|third|fourth|fifth|last|hundredth|\d+(?:st|nd|rd|th))\s+"
            r"time\s*(?:[,:;!.]|$|now\b)",
            r"\bhow\s+many\s+(?:more\s+)?times\b",
            r"\bwhat\s+did\s+i\s+just\s+(?:say|tell)\b",
            r"\b(?:we've|we\s+have)\s+(?:been\s+(?:over|through)\s+(?:this|that)\b|"
            r"done\s+(?:this|that)\s*(?:already|[,.!?;]|$))",
            r"\b(?:given|gave|told|said|spelled|spelt|read)\s+(?:you\s+)?(?:\w+\s+){0,3}(?:twice|"
            r"\w+\s+times)\s+(?:already|now)\b",
            r"\b(?:round|around)\s+and\s+(?:round|around)\b",
            r"\bback\s+to\s+square\s+one\b",
            r"\b(?:are\s+you\s+(?:even\s+)?|you're\s+not\s+|you\s+are\s+not\s+|not\s+even\s+)"
            r"(?:listening|hearing\s+me)\b",
            r"\blisten\s+to\s+(?:me|what\s+i)\b",
            r"\b(?:is\s+)?(?:anything|any\s+of\s+this)\s+getting\s+through\b",
            r"\b(?:are\s+you|you're|is\s+it)\s+stuck\b",
            r"\b(?:going|getting)\s+(?:us\s+)?nowhere\b|\bnot\s+getting\s+anywhere\b",
            r"\b(?:you're|you\s+are|this\s+is|it's|it\s+is|that's|that\s+is|this|you|that)\s+"
            r"(?:really\s+|just\s+|still\s+|simply\s+)?(?:not|isn't|aren't)\s+helping"
            r"(?:\s+(?:at\s+all|me|anyone|anybody|one\s+bit))?\s*(?:[.!,;?]|$)",
            r"\btalking\s+to\s+(?:a\s+(?:brick\s+)?wall|myself)\b",
        )
    ),
    re.IGNORECASE,
)


def is_correction(text: str) -> bool:
    """Whether the caller corrects the agent ("no, don't cancel it", "I said the blue one")."""
    return bool(_CORRECTION.search(normalise(text[:MAX_CHARS])))


def is_loop_complaint(text: str) -> bool:
    """Whether the caller says the call is going round in circles."""
    return bool(_LOOP_COMPLAINT.search(normalise(text[:MAX_CHARS])))


_FRAGMENT = re.compile(r"[^.!?;]+")
_WORD = re.compile(r"[a-z]+")
# Fragments this short are spelled out, not said ("address. delivery address.").
SHORT_FRAGMENT_WORDS = 3
MIN_FRAGMENTS = 3
# Words compared by their first letters: "fourteen" and "fourteenth" are one word said again.
STEM_CHARS = 6
# Words said twice in any careful answer: pleasantries, fillers, yes and no.
_FILLERS = frozenset(
    "yes yeah yep okay please thanks thank sorry hello right sure well just that this with "
    "what lovely great perfect fine good alright".split()
)


def stems(text: str) -> frozenset[str]:
    """The content words of an utterance (four letters or more, no fillers), by their stems."""
    return frozenset(
        w[:STEM_CHARS]
        for w in _WORD.findall(normalise(text[:MAX_CHARS]))
        if len(w) >= 4 and w not in _FILLERS
    )


def spelled_out(text: str) -> frozenset[str]:
    """The words the caller spells out again in short fragments, as one does for a machine that
    does not get it: at least three fragments, two of at most three words sharing a word of four
    letters or more ("sports channels. sports.", "fourteen. one four. june fourteen"); by stem.
    A loop when the caller said the word before too (``Repeats``): "twenty. twenty pounds." on
    its own is a careful answer."""
    fragments = [f for f in _FRAGMENT.findall(normalise(text[:MAX_CHARS])) if f.strip()]
    if len(fragments) < MIN_FRAGMENTS:
        return frozenset()
    seen: set[str] = set()
    again: set[str] = set()
    for fragment in fragments:
        words = _WORD.findall(fragment)
        if not words or len(words) > SHORT_FRAGMENT_WORDS:
            continue
        content = {w[:STEM_CHARS] for w in words if len(w) >= 4 and w not in _FILLERS}
        again |= content & seen
        seen |= content
    return frozenset(again)
