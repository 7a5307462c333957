"""Fifth-round families: names of many origins (Faker's per-locale lists), capitalised
surname-first records, a lone given name by a verb of talking, cards and SSNs read in parts
around "the last group is" and re-reading pauses, emails spelled with pauses, USPS street
abbreviations and non-English street and unit words."""

from __future__ import annotations

import pytest

from shared.redaction import Redactor
from shared.redaction.digits import cues_before
from shared.redaction.namelists import first_names, last_names
from shared.redaction.worldnames import _latin
from tests.support.redaction import covered as _covered
from tests.support.redaction import touched as _touched


def test_world_name_lists_hold_slavic_african_irish_and_iberian_names() -> None:
    assert {"oksana", "siobhan", "kwame"} <= first_names()
    assert {"shevchenko", "kowalczyk", "adeyemi", "rodriguez"} <= last_names()
    assert "iban" not in first_names() and "de" not in last_names()


def test_cyrillic_names_are_transliterated() -> None:
    assert _latin("Шевченко") == "shevchenko"
    assert _latin("田中") is None


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my aunt ludmila sokolova ordered it", "ludmila sokolova"),
        ("hi it's eun ji kang, about the late box", "eun ji kang"),
        ("Client: ASANTE, EFUA (mother)", "ASANTE, EFUA"),
        ("Per García Moreno, Lucía: refund issued.", "García Moreno, Lucía"),
        ("Surname Obi-Walsh, given name Chinonso.", "Chinonso"),
        ("i already told saoirse about it", "saoirse"),
        ("adaeze said the parcel was opened", "adaeze"),
        ("my dad set up the account, it's under svetlana orlova", "svetlana orlova"),
    ],
)
def test_names_without_a_us_list_entry_are_found(redactor: Redactor, text: str, value: str) -> None:
    assert _covered(redactor, text, value), redactor.redact(text).text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("it's four five three nine, then one two eight three, then seven four six five, "
         "and the last group is one oh two five",
         "four five three nine, then one two eight three, then seven four six five, "
         "and the last group is one oh two five"),
        ("six zero one one, oh oh four five, wait let me read it again, eight eight one two, "
         "nine three seven five",
         "six zero one one, oh oh four five, wait let me read it again, eight eight one two, "
         "nine three seven five"),
        ("the ssn is four one two, seven seven, and the last four are three oh one nine",
         "four one two, seven seven, and the last four are three oh one nine"),
        ("it's t, o, m, at, posteo, dot, d, e", "t, o, m, at, posteo, dot, d, e"),
        ("send it to 12 Aspen Ct please", "12 Aspen Ct"),
        ("it went to 7 Harbor Cir instead", "7 Harbor Cir"),
        ("Avenida Paulista 800 apto 41, São Paulo", "Avenida Paulista 800 apto 41"),
        ("Calle Mayor 10, piso 3, Madrid", "Calle Mayor 10, piso 3"),
    ],
)  # fmt: skip
def test_numbers_emails_and_streets_in_new_shapes(
    redactor: Redactor, text: str, value: str
) -> None:
    assert _covered(redactor, text, value), redactor.redact(text).text


def test_ssn_finished_in_the_next_turn(redactor: Redactor) -> None:
    previous = "my social security number, one sec, it's two one seven, four four"
    assert _covered(redactor, "and eight eight one zero", "eight eight one zero", previous)


def test_a_cue_inside_a_longer_cue_is_not_said() -> None:
    text = "social security number "
    assert set(cues_before(text, 0, len(text))) == {"US_SSN"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("my mom set up the account, order 55218", "55218"),
        ("I ordered 2 Brita filters yesterday", "Brita"),
        ("fedex said it was delivered", "fedex"),
        ("i bought 5 new pillows", "5 new pillows"),
        ("IBAN DE89 3704 0044 0532 0130 00", "IBAN"),
    ],
)
def test_business_words_stay(redactor: Redactor, text: str, value: str) -> None:
    assert not _touched(redactor, text, value), redactor.redact(text).text
