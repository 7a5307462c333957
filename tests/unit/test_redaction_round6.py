"""Sixth-round families: pauses written as an ellipsis or a spaced dash read as a comma pause,
self-corrections inside a card, runs of linked parts completed by the digits after them,
Spanish floor-and-door tails, lower-case "via" streets and Canadian postcodes."""

from __future__ import annotations

import pytest

from shared.redaction import Redactor
from shared.redaction.spoken import normalise
from tests.support.redaction import covered as _covered
from tests.support.redaction import touched as _touched


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("one two... three four", "12, 34"),
        ("one two… three four", "12, 34"),
        ("one two - three four", "12, 34"),
        ("one two — three four", "12, 34"),
        ("one two..., three four", "12, 34"),
    ],
)
def test_every_written_pause_reads_as_a_comma(text: str, written: str) -> None:
    assert normalise(text).text == written


def test_a_pause_maps_back_to_the_original_characters() -> None:
    norm = normalise("a... b")
    assert norm.text == "a, b"
    assert norm.to_original(1, 3) == (1, 5)


def test_hyphenated_words_are_no_pause() -> None:
    assert normalise("ORD-123 well-known").text == "ORD-123 well-known"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (
            "street is three forty... south... oak lane, apartment four c",
            "three forty... south... oak lane, apartment four c",
        ),
        (
            "iban g b two nine... n w b k... six zero one six... one three three one... "
            "nine two six eight... one nine",
            "g b two nine... n w b k... six zero one six... one three three one... "
            "nine two six eight... one nine",
        ),
        (
            "visa four five three two, oh one, no wait, oh one five one, one two eight three, "
            "oh three six six",
            "four five three two, oh one, no wait, oh one five one, one two eight three, "
            "oh three six six",
        ),
        (
            "it's a discover, six oh one one then oh oh oh nine and then nine nine nine oh "
            "and the last group is oh oh one six",
            "six oh one one then oh oh oh nine and then nine nine nine oh and the last group "
            "is oh oh one six",
        ),
        ("Avenida de Mayo 88, 5º C, 1002 Buenos Aires", "Avenida de Mayo 88, 5º C"),
        ("Calle Luna 7, 2º izq., 41001 Sevilla", "Calle Luna 7, 2º izq., 41001"),
        ("via Manzoni 31, int. 2, Milano", "via Manzoni 31, int. 2"),
        ("Unit 5, V6B 1A1", "V6B 1A1"),
    ],
)
def test_sixth_round_numbers_and_addresses_are_covered(
    redactor: Redactor, text: str, value: str
) -> None:
    assert _covered(redactor, text, value)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("I got it via Amazon 3 days ago", "3"),
        ("I bought 3, main street shoes were sold out", "3"),
    ],
)
def test_via_and_a_quantity_with_a_pause_stay(redactor: Redactor, text: str, kept: str) -> None:
    assert not _touched(redactor, text, kept)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("DOB 22-Nov-1949 please", "22-Nov-1949"),
        ("born on Mar.09.1990", "Mar.09.1990"),
        ("date of birth 1985/Aug/30", "1985/Aug/30"),
    ],
)
def test_written_dates_with_a_month_word_after_a_birth_cue(
    redactor: Redactor, text: str, value: str
) -> None:
    assert _covered(redactor, text, value)


def test_a_written_date_with_no_birth_cue_stays(redactor: Redactor) -> None:
    assert not _touched(redactor, "delivery on 05-Jun-2025 please", "05-Jun-2025")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("The record shows BANDA, Chisomo K. as the payer", "BANDA, Chisomo K"),
        ("Listed: MORALES, Lucía as the contact", "MORALES, Lucía"),
        ("Name on file: Mac Giolla, Eoin", "Mac Giolla, Eoin"),
        ("Customer: van der Berg, Anneke", "van der Berg, Anneke"),
        ("Customer: Ó Dálaigh, Siún", "Ó Dálaigh, Siún"),
    ],
)
def test_records_with_initials_and_particles(redactor: Redactor, text: str, value: str) -> None:
    assert _covered(redactor, text, value)


@pytest.mark.parametrize(
    ("text", "value", "previous"),
    [
        ("it's tendai, t e n d a i, mutasa-phiri", "mutasa-phiri", None),
        ("Achterberg-Nwosu, order 5521", "Achterberg-Nwosu", "Name on the account is Ingrid"),
        ("Wojnarowski", "Wojnarowski", "my name is Pawel"),
        ("it's aoibheann with a b h e", "aoibheann with a b h e", None),
        ("put it under halvard, and the surname is brekke-olsen", "brekke-olsen", None),
    ],
)
def test_a_name_continued_after_a_pause_a_turn_or_a_spelling_remark(
    redactor: Redactor, text: str, value: str, previous: str | None
) -> None:
    assert _covered(redactor, text, value, previous)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Name on the account is Ingrid, thanks", "thanks"),
        ("my name is Pawel, order 5521", "order"),
        ("the parcel is for my mum Oksana, it's a Breville", "Breville"),
    ],
)
def test_words_after_a_name_that_are_no_surname_stay(
    redactor: Redactor, text: str, kept: str
) -> None:
    assert not _touched(redactor, text, kept)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("I'm calling about my Breville Barista Express", "Breville Barista Express"),
        ("her Vitamix Ascent Series leaks", "Vitamix Ascent Series"),
        ("their Ninja Foodi Grill won't heat", "Ninja Foodi Grill"),
    ],
)
def test_capitalised_words_someone_owns_are_a_product(
    redactor: Redactor, text: str, kept: str
) -> None:
    assert not _touched(redactor, text, kept)


def test_kin_before_a_name_is_no_product(redactor: Redactor) -> None:
    assert _covered(redactor, "a gift for my Aunt Rosalind Achterberg", "Rosalind Achterberg")
