"""Third-round families: extensions, corrections after shape-typed numbers, partial
international numbers, pauses with fillers, ISO dates inside digit runs."""

from __future__ import annotations

import pytest

from shared.redaction import Redactor
from shared.redaction.chains import chains
from shared.redaction.digits import find_numbers
from tests.support.redaction import covered as _covered
from tests.support.redaction import touched as _touched


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # extensions, spoken or written, after a phone number
        ("ring my desk on six one seven four four two nine one three eight extension five five",
         "six one seven four four two nine one three eight extension five five"),
        ("office is 312-555-0148 ext. 7", "312-555-0148 ext. 7"),
        ("try 646 555 0199 x 2210 after lunch", "646 555 0199 x 2210"),
        ("reach me on 720.555.0144x12", "720.555.0144x12"),
        ("the line is (503) 555-0177, extension number 31", "(503) 555-0177, extension number 31"),
        ("nine one nine five five five oh one two two ext twenty two",
         "nine one nine five five five oh one two two ext twenty two"),
        # a correction of the last digits of a number typed by its shape alone
        ("it's 206 555 0143, sorry, 0134 at the end", "0134"),
        ("seven oh two five five five oh one six six i mean oh one six eight", "oh one six eight"),
        # a country code and the first digits before a pause
        ("it's plus three three six one two", "plus three three six one two"),
        ("start with +44 7700", "+44 7700"),
        # fillers between pauses inside a card number
        ("card is four five three nine, um, one four eight eight, uh, oh three four three, "
         "six four six seven", "four five three nine, um, one four eight eight, uh, oh three "
         "four three, six four six seven"),
    ],
)  # fmt: skip
def test_phone_families(redactor: Redactor, text: str, value: str) -> None:
    assert _covered(redactor, text, value), redactor.redact(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Placed 2023-11-02, 2 x SKU AB-1100", "2"),
        ("order 55-1200 shipped 2024-03-09, 4 boxes", "4"),
        ("that's 2 + 3000 points on the loyalty card", "3000"),
        ("box 4 x 12 fits", "12"),
    ],
)
def test_numbers_that_stay(redactor: Redactor, text: str, value: str) -> None:
    assert not _touched(redactor, text, value), redactor.redact(text)


def test_iso_date_is_a_chain_of_its_own() -> None:
    text = "placed 2024-01-15, 3 x"
    assert [text[c.start : c.end] for c in chains(text)] == ["2024-01-15", "3"]


def test_luhn_run_after_a_plain_number_cue_is_a_card() -> None:
    text = "the number is 4539 1488 0343 6467"
    assert [e.type for e in find_numbers(text)] == ["CREDIT_CARD"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # a first name joined by "and" to a name found
        ("the parcel is for obinna and ngozi okafor", "obinna"),
        ("send it to amara nwosu and tobenna please", "tobenna"),
        # hyphenated first names
        ("For Marie-Claire Dubois, front desk please", "Marie-Claire Dubois"),
        ("it's for anne-sophie lambert", "anne-sophie lambert"),
        # record labels and surname-first order
        ("Customer: Adebayo, Funmi. Refund pending.", "Adebayo, Funmi"),
        ("Recipient: Nakamura, Hiroshi", "Nakamura, Hiroshi"),
        ("Name: Okwuosa, Chiamaka; phone on file", "Okwuosa, Chiamaka"),
    ],
)
def test_name_families(redactor: Redactor, text: str, name: str) -> None:
    assert _covered(redactor, text, name), redactor.redact(text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("the account holder is my husband david kowalski", "husband"),
        ("it's from amara nwosu and co", "co"),
        ("david kowalski and will you check", "will"),
        ("Customer: requested a refund for 2 units", "requested"),
        ("Caller: wants the blue one instead", "wants"),
    ],
)
def test_name_families_leave_words(redactor: Redactor, text: str, word: str) -> None:
    assert not _touched(redactor, text, word), redactor.redact(text)


@pytest.mark.parametrize(
    ("text", "value", "previous"),
    [
        # an IBAN broken off after its bank code
        ("my iban is g b two nine n w b k", "g b two nine n w b k", None),
        ("IBAN GB29 NWBK, the rest in a second", "GB29 NWBK", None),
        # a birth month said alone before a pause
        ("my date of birth is november", "november", None),
        ("i was born in feb", "feb", None),
        # roads known by a number
        ("it's forty two state route seventeen north", "forty two state route seventeen north",
         None),
        ("ship to 4200 FM 1960 East, Houston", "4200 FM 1960 East", None),
        ("we're at 318 county road 12 apt 4", "318 county road 12 apt 4", None),
        # an address whose street type comes in the next turn
        ("Drive, Unit 3, Boise", "Drive, Unit 3", "Ship to 77 Larkspur"),
    ],
)  # fmt: skip
def test_iban_birth_and_address_families(
    redactor: Redactor, text: str, value: str, previous: str | None
) -> None:
    assert _covered(redactor, text, value, previous), redactor.redact(text, previous=previous)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("i need 2 route 66 mugs", "2 route 66"),
        ("it's at 12 NL", "12 NL"),
        ("the sku is h x dash two two nine oh dash b l k", "h x dash two two nine oh dash b l k"),
        ("item number k l slash four four one slash r e d please",
         "k l slash four four one slash r e d"),
        ("my birthday gift should arrive in march", "march"),
    ],
)  # fmt: skip
def test_business_values_and_plain_words_stay(redactor: Redactor, text: str, value: str) -> None:
    assert not _touched(redactor, text, value), redactor.redact(text)
