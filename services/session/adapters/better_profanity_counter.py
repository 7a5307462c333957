"""Swear words in caller utterances, counted with ``better_profanity``'s list and matcher.

The library's list (about 900 entries, with leetspeak variants such as ``sh1t``) is made for
moderating chat: it holds many words that are not swearing in a support call (body and health
words, retail items such as a maxi dress, a door knob, a shag carpet or cowgirl boots, mild
exclamations such as "oh my god" or "damn"). ``NOT_SWEARING`` takes those out; what remains is
counted. Speech-to-text often masks swearing itself ("f***"): a masked word counts too.
"""

from __future__ import annotations

import re

from better_profanity import Profanity

# Only this much of an utterance is examined (the matcher is ~2 ms per word).
MAX_CHARS = 500
CENSOR = "\u2588"  # never in a transcript, so each run of four is one censored word
_MASKED = re.compile(r"\b[a-z]\*{2,}[a-z]*|\*{3,}", re.IGNORECASE)

# Entries of the library's list that are not swearing on a support line.
NOT_SWEARING: frozenset[str] = frozenset(
    """
    god omg hell damn crap goddamn goddam goddammit goddamned godamn godamnit god-dam god-damned
    lmao dummy dopey doofus fat ugly stupid weirdo trashy vulgar suck
    sucked sucking screw screwed screwing jerked strip stroke pot pawn rum vodka weed hooch
    hookah organ oral maxi undies pantie panties panty virgin tramp slave sniper uzi kill murder
    napalm seaman seamen sandbar revue racy steamy stoned thrust tinkle toots wad woody willy
    willies wedgie weenie whiz urinal urine uterus vomit womb valium viagra tampon teat nude
    naked nipple nipples breasts lust lusty kinky menses menstruate menstruation pee poop potty
    pms drunk heroin hemp herpes hiv facial erect erection enlargement fondle fingering flange
    hump humped humping knob lube meth nad nads opiate opium ovary ovum ovums pasty pastie
    playboy prude pubic rump sex sexual shag smut snuff souse teste testes testis testicle
    testical scrotum penis vagina vulva rectal rectum rectus sperm semen phallic phalli
    three some thug tush cowgirl cowgirls gay gays lesbians lesbos homey junkie junky seduce
    leper loin loins masochist sadism sadist stiffy teets tit tits booty busty hooters horny
    reefer toke ganja peyote pcp skag scag dink dinks pinko prig punky scum wench xx xxx
    """.split()
)


class BetterProfanityCounter:
    """The ``ProfanityCounter``: swear words per utterance. Thread-safe (read-only after init)."""

    def __init__(self) -> None:
        self._profanity = Profanity()
        self._profanity.load_censor_words(whitelist_words=sorted(NOT_SWEARING))

    def count(self, text: str) -> int:
        text = text[:MAX_CHARS]
        masked = len(_MASKED.findall(text))
        censored = self._profanity.censor(_MASKED.sub(" ", text), CENSOR)
        return masked + str(censored).count(CENSOR * 4)
