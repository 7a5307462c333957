"""Families of phrasings the redaction rules accept as a whole, not one sentence each."""

from __future__ import annotations

import pytest

from shared.redaction import Redactor
from shared.redaction.address import find_addresses
from shared.redaction.dates import find_expiries
from shared.redaction.keep import blocked, kept_spans
from shared.redaction.namelists import is_english
from shared.redaction.names import find_names
from shared.redaction.places import city_spans
from tests.support.redaction import covered as _covered


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # security codes pointed at
        ("the code beside the signature strip says five one two", "five one two"),
        ("small digits on the back, nine oh four", "nine oh four"),
        # expiries said without "expire"
        ("my card runs out in october twenty thirty", "october twenty thirty"),
        ("good through the second month of twenty nine", "the second month of twenty nine"),
        # phone: a plain "number" cue and a false start before an aside
        ("my best number's seven one three", "seven one three"),
        ("it's two oh six... no wait that one's disconnected, it's four two five five five five "
         "oh one seven seven", "two oh six"),
        # addresses: a unit apart, the number after the street, no street type, zip keys
        ("ring flat nine at the back of forty hill road", "flat nine"),
        ("Viale Monza 87, Milano", "Viale Monza 87"),
        ("we moved to 3300 broadway last spring", "3300 broadway"),
        ("i'm living at 52 wrenfield now", "52 wrenfield"),
        ("lookup(zip_code='73301')", "73301"),
        ("ok the house number's forty", "forty"),
    ],
)  # fmt: skip
def test_numbers_and_addresses_in_new_phrasings(redactor: Redactor, text: str, value: str) -> None:
    assert _covered(redactor, text, value), redactor.redact(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my flatmate oyelaran dropped it off", "oyelaran"),
        ("the parcel is for uncle bartholomew", "bartholomew"),
        ("my sister-in-law, zofia wrzesniewska, will sign", "zofia wrzesniewska"),
        ("he goes by tunde tunde bakare", "tunde tunde bakare"),
        ("the order was booked under wilhelmina ostrowski", "wilhelmina ostrowski"),
        ("okay ma'am, priyanka chaturvedi here", "priyanka chaturvedi"),
        ("i think akosua mensah-bonsu ordered it", "akosua mensah-bonsu"),
        ("hi it's r quispe", "r quispe"),
    ],
)
def test_names_in_new_phrasings(text: str, name: str) -> None:
    start = text.index(name)

    spans = [(e.start, e.end) for e in find_names(text)]

    assert any(s <= start and start + len(name) <= e for s, e in spans), spans


@pytest.mark.parametrize(
    "text",
    [
        "it's stuck in customs",  # a surname that is also a word, alone after "it's"
        "fedex gave it to the wrong house",  # a carrier is no name
        "the bic COBADEFFXXX is on the form",  # acronyms are no names
    ],
)
def test_words_that_are_no_names(text: str) -> None:
    assert find_names(text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("the adrianna papell gown has a torn hem", "adrianna papell gown"),
        ("Is the Marisa Okonedo Riva sandals restock coming?", "Marisa Okonedo Riva sandals"),
    ],
)
def test_words_before_a_kind_of_goods_are_no_person(text: str, value: str) -> None:
    start = text.index(value)
    kept = kept_spans(text)

    assert blocked(kept, "PERSON", start, start + len(value) - 1)
    assert not blocked(kept, "PHONE_NUMBER", start, start + len(value))  # only names are held


def test_a_number_shortly_after_a_carrier_is_a_reference(redactor: Redactor) -> None:
    text = "dhl texted me 7730 1928 4455 and nothing since"

    assert redactor.redact(text).text == text


def test_a_valid_card_after_a_carrier_is_still_a_card(redactor: Redactor) -> None:
    text = "ups charged my 4111 1111 1111 1111 for duties"

    assert "[CREDIT_CARD]" in redactor.redact(text).text


def test_a_city_before_a_depot_is_a_place() -> None:
    text = "it sat in a Sacramento warehouse all week"

    assert (text.index("Sacramento"), text.index(" warehouse")) in city_spans(text)


def test_a_city_that_is_also_a_first_name_does_not_hide_the_full_name(
    redactor: Redactor,
) -> None:
    text = "please make it out to florence abernathy"

    assert _covered(redactor, text, "florence abernathy")


def test_a_city_with_a_two_word_state_stays(redactor: Redactor) -> None:
    text = "it's headed to savannah west virginia i guess"

    assert "savannah" in redactor.redact(text).text


def test_expiry_grammar_reads_the_month_by_number() -> None:
    text = "valid thru month 3 of 2031"

    assert [text[e.start : e.end] for e in find_expiries(text)] == ["month 3 of 2031"]


def test_unit_words_without_a_number_are_no_address() -> None:
    assert find_addresses("the unit price went up and the suite was lovely") == []


def test_irregular_forms_are_english() -> None:
    assert is_english("bought") and is_english("gave") and not is_english("nakamura")
