"""Anger a sentiment model misreads: sarcasm, exasperation, threats to leave (pure text rules).

A lexicon reads "a note. great. fantastic." as glowing and "this is so shady" or "I'm doing a
chargeback" as neutral; a caller saying them is angry with the service. Three families of cues
say so whatever the words' polarity:

- exasperation with the service or the company: "unbelievable", "what a joke", "a total
  shambles", "this is so shady", "are you kidding me", "how hard can it be", "I'm fuming",
  "what is the point", "jesus"; formal and elderly: "this is simply not good enough", "I am
  appalled", "this is how you treat me", "shame on you", "nobody had the courtesy"; blunt and
  second-language: "you are useless", "very bad service", "fix it. today.";
- threats to leave, complain or go to the bank: "I'm never ordering from you again", "I'll buy it
  somewhere else", "chargeback", "reporting you to trading standards", "a one star review",
  "going to a different bank", "cutting this card up", "you've lost a customer", "I shall be
  taking this further", "the regulator";
- sarcasm, positive words where none is meant: "love that for me", "I'm sure that'll fix
  everything", "thanks for nothing", "great. fantastic." (two different praise words stacked
  without thanks), "genius. honestly genius", "fantastic service, really top notch", "of course
  you are.", "funny how...", "thought not", "whatever.", "I'll sleep on the floor then, shall I".

Calm complaints about a product ("it's a bit annoying", "terrible quality", "disappointed"),
sincere thanks ("great, thanks!", "oh today? great", "lovely, lovely", "great, great") and
negated feelings ("I'm not furious") hold none of them. A cue only lowers one
utterance's score (``ANGER_CEILING``); the rules still want the trend over several utterances.
"""

from __future__ import annotations

import re

# Only this much of an utterance is examined.
MAX_CHARS = 600
# An utterance with an anger cue scores at most this: as low as the sentiment adapter's own
# floor for frustration with the service, so one cue with one more sour utterance is a trend.
ANGER_CEILING = -0.6

_EXASPERATION = (
    r"\bunbelievable\b",
    r"\bridiculous\b",
    r"\b(?:shambles|farce|disgrace(?:ful)?|outrageous|appalling|unacceptable|incompetent|"
    r"incompetence|pathetic|shady|dodgy|scammers?|scammed|theft|thieves|daylight\s+robbery|"
    r"rip[-\s]?off|ripping\s+(?:me|people|us)\s+off)\b",
    r"\b(?:this|that|it|you|you're|this\s+company)\s*(?:is|'s|are|'re)?\s+(?:a\s+|an\s+absolute\s+|"
    r"a\s+total\s+|such\s+a\s+|a\s+complete\s+)?scam\b",
    r"\bwhat\s+an?\s+(?:absolute\s+|complete\s+|total\s+)?(?:joke|farce|mess|nightmare|"
    r"shambles|waste|disgrace|rip[-\s]?off|con)\b",
    r"\b(?:shocking|disgusting|terrible|awful|horrendous|dreadful|abysmal|atrocious|lousy|"
    r"rubbish|appalling|worst|horrible|pathetic|diabolical|crap|poor)\s+(?:customer\s+)?"
    r"(?:service|company|support|treatment)\b",
    r"\byou\s+people\b",
    r"\b(?:sure|yeah)\s+you\s+(?:are|do|will|did|can|have)\s*(?:[.!]|$)",
    r"\b(?:this|that|it|you|you\s+lot|your\s+\w+)\s+(?:is|are|'s|'re)\s+(?:(?:a|an|such\s+a|"
    r"an\s+absolute|a\s+complete|a\s+total|so|just|completely|absolutely|totally)\s+)*"
    r"(?:joke|hopeless|insane|a\s+nightmare|beyond\s+a\s+joke)\b",
    r"\b(?:are|r)\s+you\s+(?:kidding|joking|serious|having\s+a\s+laugh|for\s+real)\b",
    r"\byou(?:'ve|\s+have)?\s+(?:got|gotta)\s+(?:to\s+)?be\s+(?:kidding|joking)\b",
    r"\bhow\s+(?:hard|difficult)\s+(?:is|can)\s+it\b",
    r"\bfor\s+(?:crying\s+out\s+loud|(?:goodness|god|heaven|pete)'?s?\s+sake)\b",
    r"\b(?:fed\s+up|sick\s+(?:and\s+tired\s+|to\s+death\s+)?of|had\s+(?:it|enough)\s+(?:with|of)|"
    r"tired\s+of\s+(?:this|you|being))\b",
    r"\b(?<!not\s)(?<!n't\s)(?:fuming|livid|furious|seething)\b",
    r"\b(?:i'm|i\s+am)\s+(?:so\s+|absolutely\s+|completely\s+)?done\s+(?:with|being)\b",
    r"\bdone\s+with\s+(?:you|this|your)\b",
    r"\bwasted\s+(?:my\s+|a\s+|an\s+|\w+\s+)?(?:whole\s+)?(?:time|morning|afternoon|day|"
    r"evening|minutes|hours?)\b",
    r"\bwaste\s+of\s+(?:my\s+)?time\b",
    r"\bwhat(?:'s|\s+is)\s+(?:even\s+)?the\s+point\b",
    r"^\W*(?:oh\s+)?seriously\s*\?",
    r"\b(?:jesus(?:\s+christ)?|jeez|good\s+grief|give\s+me\s+strength|bloody\s+hell)\b",
    r"^\W*(?:oh\s+)?(?:just\s+)?(?:don't|do\s+not)\s+bother\s*(?:[.!]|$)",
    r"\b(?<!not\s)(?<!n't\s)(?:appalled|disgusted|outraged|infuriat(?:ed|ing)|"
    r"exasperat(?:ed|ing))\b",
    r"\b(?:i'm|i\s+am|we're|we\s+are)\s+(?:so\s+|very\s+|really\s+|extremely\s+|getting\s+)?"
    r"(?:angry|mad\b|cross\b|very\s+upset|so\s+upset|really\s+upset)",
    r"\b(?:is|are|it's|that's)\s+(?:simply\s+|just\s+|frankly\s+)?not\s+good\s+enough\b",
    r"\b(?:shameful|shame\s+on\s+you|a\s+disgrace)\b",
    r"\b(?:no\s+way\s+to\s+treat|this\s+is\s+how\s+you\s+treat|never\s+been\s+treated)\b",
    r"\b(?:you|you're|you\s+are|this\s+(?:is|bot|machine|system|insurance|policy|service|"
    r"company)|your\s+(?:service|company|system|bot|machine|insurance|policy))\s+"
    r"(?:is\s+|are\s+)?(?:completely\s+|totally\s+|absolutely\s+|so\s+|just\s+)?"
    r"(?:useless|worthless)\b",
    r"\b(?:very|so|really)\s+bad\s+(?:customer\s+)?service\b",
    r"\b(?:nobody|no\s+one|no-one)\s+(?:here\s+)?(?:ever\s+|even\s+)?(?:cares|listens|helps|"
    r"bothers|gives\s+a\s+damn|(?:has\s+)?had\s+the\s+(?:courtesy|decency))\b",
    r"\b(?:is|it's|that's|this\s+is)\s+(?:simply\s+|just\s+|totally\s+|completely\s+)?not\s+"
    r"acceptable\b|^\W*(?:no\W+)?not\s+acceptable\b",
    r"\bexpected\s+(?:far\s+|much\s+|a\s+lot\s+)?better\s+(?:from|of)\s+(?:you|your|a\s+company)\b",
    r"\b(?:very|extremely|deeply|totally|most|thoroughly)\s+(?:dissatisfied|unhappy|displeased)"
    r"\s+with\s+(?:the\s+way|how|you|your|the\s+service)\b",
    r"(?:^|[.!?]\s*)(?:just\s+)?(?:sort|fix)\s+(?:it|this)(?:\s+out)?\s*(?:[.!]|\s+(?:now|today|"
    r"already|immediately)\b)",
    r"\b(?:bad|poor|crap|useless|no)\s+(?:customer\s+)?service\s+(?:at\s+all|whatsoever)\b",
)
_THREAT = (
    r"\bcharge\s?backs?\b",
    r"\bdisput(?:e|ing)\b[^.!?]{0,30}\b(?:charge|payment|transaction|bank|card)\b",
    r"\b(?:call|ring|contact|phone|go\s+to|tell)(?:ing)?\s+my\s+(?:bank|card\s+(?:company|issuer|provider)|"
    r"credit\s+card\s+company)\b",
    r"\breport(?:ing)?\s+(?:you|this|your\s+company|it)\s+to\b",
    r"\b(?:trading\s+standards|ombudsman|better\s+business\s+bureau|small\s+claims|"
    r"legal\s+action|my\s+(?:lawyer|solicitor|attorney)|sue\s+you|suing\s+you)\b",
    r"\b(?:one|1|zero|0|no)[-\s]stars?\b",
    r"\b(?:bad|terrible|awful|negative|scathing|horrible)\s+reviews?\b",
    r"\b(?:tell|telling|warn|warning)\s+(?:everyone|everybody|all\s+my|the\s+world|people)\b",
    r"\bsocial\s+media\b",
    # never ordering from you again / I'll never shop here again
    r"\bnever\s+(?:\w+ing|buy|order|shop|use|come|deal|touch|stay|book|rent|fly|recommend|"
    r"insure|return)\b[^.!?]{0,40}\bagain\b",
    r"\b(?:buy|get|order|shop|go|going|tak(?:e|ing)\s+my\s+(?:business|money|custom))\w*"
    r"[^.!?]{0,25}"
    r"\b(?:somewhere\s+else|elsewhere|from\s+(?:someone|somebody)\s+else|"
    r"from\s+(?:a|your)\s+competitors?)\s*(?:[.!,;]|$|then\b|instead\b|from\s+now)",
    r"\byou\s+can\s+keep\s+your\b",
    r"\b(?:make|file|lodge|raise|submit|put\s+in)\w*\s+an?\s+(?:formal\s+|official\s+)?"
    r"complaint\b",
    # going to a different bank / switching providers / I'll give them (a competitor) a ring
    r"\b(?:go(?:ing)?|switch(?:ing)?|tak(?:e|ing)\s+\w+)\s+"
    r"(?:over\s+)?to\s+(?:a\s+)?(?:different|another|other)\s+(?:bank|provider|company|"
    r"supplier|insurer|network|firm|broadband|energy\s+supplier|card)\b",
    r"\b(?:i'll|i\s+will|i'm|i\s+am)\s+(?:just\s+|going\s+to\s+|gonna\s+|be\s+)?switch(?:ing)?\s+"
    r"(?:my\s+\w+\s+)?(?:providers?|suppliers?|insurers?|banks?|networks?)\b",
    r"\b(?:cut(?:ting)?\s+(?:this|the|my|your)\s+(?:stupid\s+)?card\s+up|cut(?:ting)?\s+up\s+"
    r"(?:this|the|my|your)\s+card)\b",
    r"\b(?:you've|you\s+have|you)\s+(?:just\s+)?lost\s+(?:a|my|our)\s+"
    r"(?:customer|business|custom)\b",
    r"\b(?:regulator|ofgem|ofcom|financial\s+ombudsman|consumer\s+(?:rights|protection)|"
    r"take\s+you\s+to\s+court|see\s+you\s+in\s+court)\b",
    r"\b(?:take|taking)\s+(?:this|it|the\s+matter|things)\s+further\b",
    r"\bwrit(?:e|ing)\s+to\s+(?:your\s+|the\s+)?(?:ceo|chief\s+executive|managing\s+director|"
    r"the\s+press|newspapers?|my\s+mp)\b",
)
_PRAISE = (
    r"(?:great|fantastic|brilliant|wonderful|perfect|lovely|marvell?ous|super|amazing|terrific|"
    r"excellent|splendid|genius|superb|outstanding|top[-\s]notch|well\s+done|bravo|stellar)"
)
# Praise said sincerely twice over ("lovely, lovely") is not stacked sarcasm.
_STACKING = (
    r"(?:great|fantastic|brilliant|wonderful|perfect|marvell?ous|super|amazing|terrific|"
    r"excellent|splendid|genius|superb|outstanding|top[-\s]notch|well\s+done|bravo|stellar)"
)
_SARCASM = (
    r"\blove\s+that\s+for\s+(?:me|us)\b",
    # I'm sure that'll fix everything / I'm sure a note will really help
    r"\b(?:i'm|i\s+am)\s+sure\s+(?:\w+\s+){0,3}?(?:\w+'ll|will|is\s+going\s+to|'s\s+gonna|gonna)\s+"
    r"(?:(?:really|totally|definitely|absolutely)\s+(?:fix|help|solve|sort|change|work)\b|"
    r"(?:fix|help|solve|sort|change)\s+(?:everything|it\s+all|all\s+my\s+problems|the\s+world))",
    r"\bthanks\s+for\s+nothing\b",
    r"\bjust\s+what\s+i\s+(?:needed|wanted)\b",
    r"\bwhat\s+a\s+surprise\b|\bsurprise,?\s+surprise\b",
    r"\bof\s+course\s+(?:you|it|they)\s+(?:are|is|can't|cannot|won't|didn't|don't|aren't|isn't|"
    r"haven't|did|do)\s*(?:[.!]|$)",
    rf"\bwell\s+(?:that's|that\s+is)\s+just\s+{_PRAISE}\b",
    # funny how there's a discount now I'm leaving / how convenient
    r"\bfunny\s+(?:how|that)\b|\bhow\s+convenient\b",
    r"\b(?:thought|figured)\s+(?:not|as\s+much)\b",
    r"^\W*(?:typical|figures|classic)\s*[.!]",
    r"\byeah\s+right\b",
    r"(?:^|[,.!?]\s*)(?:yeah\s+|ok\s+|okay\s+|sure\s+)?whatever\s*(?:[,.!?]|$)",
    # I'll just sleep on the floor then, shall I
    r"\bthen,?\s+shall\s+i\b",
)
# Praise stacked in short fragments ("great. fantastic.", "wow. amazing.") or said again
# ("perfect, a voucher, just perfect") is sarcasm when the caller thanks no one.
_STACKED_PRAISE = re.compile(
    r"|".join(
        (
            # two different words: "great, great" is said sincerely
            rf"(?:^|[.!?,]\s*)(?:oh\s+)?(?P<first>wow|{_STACKING})\s*[.!,]+\s*(?:(?:just|really|"
            rf"honestly|truly|simply|absolutely|so)\s*,?\s*)*(?!(?P=first)\b){_STACKING}\b",
            rf"\b(?P<praise>{_PRAISE})\b[^?]{{0,60}}\b(?:just|honestly|truly|simply)\s+"
            r"(?P=praise)\b",
            # fantastic service, really top notch
            rf"\b{_STACKING}\s+(?:customer\s+)?service\b[^.!?]{{0,30}}\b{_STACKING}\b",
        )
    ),
    re.IGNORECASE,
)
_THANKS = re.compile(r"\b(?:thanks?|thank\s+you|cheers|appreciate)\b", re.IGNORECASE)

_CUES = re.compile("|".join((*_EXASPERATION, *_THREAT, *_SARCASM)), re.IGNORECASE)


def shows_anger(text: str) -> bool:
    """Whether the utterance holds exasperation, a threat to leave or complain, or sarcasm."""
    text = text[:MAX_CHARS].replace("\u2019", "'").replace("\u2018", "'")
    if _CUES.search(text):
        return True
    return bool(_STACKED_PRAISE.search(text)) and not _THANKS.search(text)


def with_anger_cues(text: str, score: float) -> float:
    """The sentiment score, at most ``ANGER_CEILING`` when the utterance shows anger."""
    return min(score, ANGER_CEILING) if shows_anger(text) else score
