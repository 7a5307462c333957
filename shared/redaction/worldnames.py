"""Given names and surnames from many countries, read from Faker's person providers.

The US Census lists and nam_dict miss most Slavic, West African, Irish and Iberian surnames
("petrova", "shevchenko", "adeyemi"); Faker ships per-locale lists of them in the package (no
network). Latin-script names are kept as they are and Cyrillic ones are transliterated
("Шевченко" -> "shevchenko"); other scripts are skipped, since callers' transcripts are Latin.
"""

from __future__ import annotations

import importlib
import pkgutil
import unicodedata
from functools import cache

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяієїґ",
        (
            "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya i ye yi g"
        ).split(),
        strict=True,
    )
)


def _latin(name: str) -> str | None:
    """``name`` lower-cased, accents dropped, Cyrillic transliterated; None for other scripts."""
    word = name.strip().lower()
    if any("\u0400" <= c <= "\u04ff" for c in word):
        word = "".join(_CYRILLIC.get(c, c) for c in word).replace("-", "")
    word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return word if word.isascii() and word.isalpha() and len(word) >= 3 else None


@cache
def _lists() -> tuple[frozenset[str], frozenset[str]]:
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for info in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{info.name}").Provider
        for attr in dir(provider):
            if not attr.startswith(("first_names", "last_names")):
                continue
            values = getattr(provider, attr)
            if isinstance(values, (dict, tuple, list, set, frozenset)):
                target = first if attr.startswith("first") else last
                target.update(w for v in values if (w := _latin(str(v))) is not None)
    return frozenset(first), frozenset(last)


def world_first_names() -> frozenset[str]:
    """Lower-case given names of every Faker locale (Latin or transliterated Cyrillic)."""
    return _lists()[0]


def world_last_names() -> frozenset[str]:
    """Lower-case surnames of every Faker locale (Latin or transliterated Cyrillic)."""
    return _lists()[1]
