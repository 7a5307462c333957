"""The PII redaction library: written and spoken forms go, business values stay, offsets hold."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from typing import Any

import pytest

from shared.redaction import ENTITY_TYPES, Entity, Redaction, Redactor, default_redactor
from shared.redaction.model import merge_entities
from shared.redaction.spoken import normalise, spoken_digits


def _found(redaction: Redaction, text: str) -> dict[str, str]:
    return {text[e.start : e.end]: e.type for e in redaction.entities}


@pytest.mark.parametrize(
    ("text", "pii", "kind"),
    [
        # person
        ("hi my name is priya raghunathan and i'm calling", "priya raghunathan", "PERSON"),
        ("Name on the account: Oluwaseun Adeyemi", "Oluwaseun Adeyemi", "PERSON"),
        ("this is mike, i placed an order last week", "mike", "PERSON"),
        # phone
        ("my number is 415-555-0132", "415-555-0132", "PHONE_NUMBER"),
        ("call me on +44 20 7946 0958", "+44 20 7946 0958", "PHONE_NUMBER"),
        (
            "my cell is four one five, five five five, oh one three two",
            "four one five, five five five, oh one three two",
            "PHONE_NUMBER",
        ),
        ("it's nine one seven double five five oh one two two", None, "PHONE_NUMBER"),
        # email
        ("mail me at john.smith@gmail.com today", "john.smith@gmail.com", "EMAIL_ADDRESS"),
        ("it's john dot smith at gmail dot com", "john dot smith at gmail dot com",
         "EMAIL_ADDRESS"),
        ("email is j o h n at yahoo dot co dot uk", "j o h n at yahoo dot co dot uk",
         "EMAIL_ADDRESS"),
        ("my gmail is jsmith eighty four", "jsmith eighty four", "EMAIL_ADDRESS"),
        # card
        ("card 4111 1111 1111 1111 please", "4111 1111 1111 1111", "CREDIT_CARD"),
        (
            "the card is four one one one, one one one one, one one one one, one one one one",
            "four one one one, one one one one, one one one one, one one one one",
            "CREDIT_CARD",
        ),
        ("my card number starts four five three two oh one", None, "CREDIT_CARD"),
        # cvv and expiry
        ("the security code is seven three one", "seven three one", "CVV"),
        ("CVV 118", "118", "CVV"),
        ("it expires oh eight twenty seven", "oh eight twenty seven", "CARD_EXPIRY"),
        ("exp 04/29", "04/29", "CARD_EXPIRY"),
        # ssn
        ("SSN 521-44-7810", "521-44-7810", "US_SSN"),
        ("the last four of my social are eight two two six", "eight two two six", "US_SSN"),
        # date of birth
        ("my date of birth is march fourteenth nineteen eighty five", None, "DATE_OF_BIRTH"),
        ("DOB: 07/04/1990", "07/04/1990", "DATE_OF_BIRTH"),
        # address
        ("ship it to 1428 Elm Street apartment 4B, Denver", "1428 Elm Street apartment 4B", None),
        ("i live at twelve thirty four oak lane", "twelve thirty four oak lane", "STREET_ADDRESS"),
        # bank
        ("routing number is oh two one oh oh oh oh two one", None, "BANK_ACCOUNT"),
        ("checking account 000123456789", "000123456789", "BANK_ACCOUNT"),
        # iban
        ("IBAN DE89 3704 0044 0532 0130 00", "DE89 3704 0044 0532 0130 00", "IBAN"),
        ("it's g b two nine n w b k six oh one six one three three one nine two six eight one nine",
         None, "IBAN"),
    ],
)  # fmt: skip
def test_pii_is_found_in_written_and_spoken_form(
    redactor: Redactor, text: str, pii: str | None, kind: str | None
) -> None:
    redaction = redactor.redact(text)

    assert redaction.entities, text
    if pii is not None:
        found = _found(redaction, text)
        assert pii in found, found
        if kind is not None:
            assert found[pii] == kind
        assert pii not in redaction.text
    if kind is not None:
        assert f"[{kind}]" in redaction.text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "hi i'm calling about order number seven seven three one five",
            "seven seven three one five",
        ),
        ("Where is ORD-77315? It was supposed to arrive on March 3rd.", "ORD-77315"),
        ("Where is ORD-77315? It was supposed to arrive on March 3rd.", "March 3rd"),
        ("tracking 9400 1000 0000 0000 0000 00 hasn't moved", "9400 1000 0000 0000 0000 00"),
        ("the tracking number is 4111111111111111", "4111111111111111"),
        ("ups says 1Z 999 AA1 01 2345 6784 is late", "1Z 999 AA1 01 2345 6784"),
        ("it cost $1,299.00 in total", "$1,299.00"),
        ("the refund was forty nine ninety nine", "forty nine ninety nine"),
        ("I ordered 3 of the iPhone 15 Pro cases", "iPhone 15 Pro"),
        ("i bought the tommy hilfiger jacket and the Ray-Ban sunglasses", "tommy hilfiger"),
        ("i bought the tommy hilfiger jacket and the Ray-Ban sunglasses", "Ray-Ban"),
        ("it shipped from eugene oregon last week", "eugene"),
        ("can it come between nine and eleven on friday", "nine and eleven"),
        ("the sku is AB-4471-XL and I need 2 of them", "AB-4471-XL"),
        ("my birthday present should arrive on october third", "october third"),
        ("i've had this account since 2015 and my order 58812 is late", "2015"),
        ("i want two of the size eleven nike air max", "nike air max"),
    ],
)
def test_business_values_are_kept(redactor: Redactor, text: str, kept: str) -> None:
    redaction = redactor.redact(text)

    start = text.index(kept)
    end = start + len(kept)
    assert not [e for e in redaction.entities if e.start < end and start < e.end], redaction
    assert kept in redaction.text


def test_city_after_an_address_stays(redactor: Redactor) -> None:
    text = "Deliver to 88 Harbor View Drive, Suite 200, San Diego, CA 92101"

    redaction = redactor.redact(text)

    assert redaction.text == "Deliver to [STREET_ADDRESS], San Diego, CA [STREET_ADDRESS]"


def test_offsets_point_into_the_original_text(redactor: Redactor) -> None:
    text = "um my card is four one one one one one one one one one one one one one one one ok"

    (entity,) = redactor.redact(text).entities

    assert entity.type == "CREDIT_CARD"
    assert text[entity.start : entity.end] == "four one one one" + " one" * 12
    assert text[: entity.start] == "um my card is "


def test_entities_are_sorted_typed_and_disjoint(redactor: Redactor) -> None:
    text = (
        "this is jane doe, email jane.doe@example.com, phone 415 555 0132, "
        "card 4111 1111 1111 1111 exp 08/27 cvv 123, order ORD-1234"
    )

    entities = redactor.redact(text).entities

    assert [e.start for e in entities] == sorted(e.start for e in entities)
    assert all(a.end <= b.start for a, b in itertools.pairwise(entities))
    assert {e.type for e in entities} <= set(ENTITY_TYPES)
    assert {e.type for e in entities} >= {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"}
    assert "ORD-1234" in redactor.redact(text).text


def test_overlapping_findings_merge_into_the_more_specific_type() -> None:
    merged = merge_entities([Entity("PERSON", 0, 10), Entity("EMAIL_ADDRESS", 0, 20)])

    assert merged == (Entity("EMAIL_ADDRESS", 0, 20),)


@pytest.mark.parametrize(
    ("previous", "text", "pii"),
    [
        ("my card number is four one one one one one one one", "one one one one one one one one",
         "one one one one one one one one"),
        ("it's john dot smith", "at gmail dot com", "at gmail dot com"),
        ("the phone number is six four six", "five five five oh one nine nine",
         "five five five oh one nine nine"),
        ("my name is thandiwe", "ndlovu n d l o v u", "n d l o v u"),
    ],
)  # fmt: skip
def test_pii_split_across_turns_is_found_in_the_current_turn(
    redactor: Redactor, previous: str, text: str, pii: str
) -> None:
    redaction = redactor.redact(text, previous=previous)

    assert pii not in redaction.text
    assert redaction.entities
    assert all(0 <= e.start < e.end <= len(text) for e in redaction.entities)


def test_without_the_previous_turn_the_fragment_is_not_a_card(redactor: Redactor) -> None:
    assert redactor.redact("one one one one").entities == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"phone": "4155550132"}, {"phone": "[PHONE_NUMBER]"}),
        ({"card_number": 4111111111111111}, {"card_number": "[CREDIT_CARD]"}),
        ({"email": "jane@example.com"}, {"email": "[EMAIL_ADDRESS]"}),
        ({"name": "Jane Doe"}, {"name": "[PERSON]"}),
        ({"customerName": "jo"}, {"customerName": "[PERSON]"}),
        ({"order_id": "77315", "sku": "TSH-1", "amount": 45.99}, None),
        ({"tracking_number": "4111111111111111"}, None),
        ({"quantity": 2, "city": "Springfield"}, None),
        ({"notes": ["call me at 415 555 0132", "thanks"]},
         {"notes": ["call me at [PHONE_NUMBER]", "thanks"]}),
        ({"shipping_address": "742 Evergreen Terrace, Springfield"},
         {"shipping_address": "[STREET_ADDRESS], Springfield"}),
        ({"customer": {"ssn": 123456789, "vip": True, "note": None}},
         {"customer": {"ssn": "[US_SSN]", "vip": True, "note": None}}),
        ({"product_name": "Tommy Hilfiger jacket", "billing_email": "x", "home_phone": 5551234},
         {"product_name": "Tommy Hilfiger jacket", "billing_email": "[EMAIL_ADDRESS]",
          "home_phone": "[PHONE_NUMBER]"}),
        ({"card": {"number": "4111111111111111", "exp": "08/27"}},
         {"card": {"number": "[CREDIT_CARD]", "exp": "[CARD_EXPIRY]"}}),
    ],
)  # fmt: skip
def test_redact_value_uses_the_key_as_context(
    redactor: Redactor, value: Any, expected: Any
) -> None:
    assert redactor.redact_value(value) == (value if expected is None else expected)


def test_no_network_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import tldextract

    fresh = Redactor()  # builds the analyzer, loads spaCy and name lists with sockets refused

    assert fresh.redact("write to someone@example.co.uk").text == "write to [EMAIL_ADDRESS]"
    assert tldextract.extract("a.b.example.co.uk").suffix == "co.uk"


def test_a_long_text_is_redacted_in_bounded_time(redactor: Redactor) -> None:
    chunk = "my card is 4111 1111 1111 1111 and my order is ORD-77315, thanks. "
    text = (chunk * (4000 // len(chunk) + 1))[:4000]

    t0 = time.perf_counter()
    redaction = redactor.redact(text)
    elapsed = time.perf_counter() - t0

    assert elapsed < 5.0
    assert "4111" not in redaction.text
    assert "ORD-77315" in redaction.text


def test_texts_above_the_bound_are_redacted_in_windows(redactor: Redactor) -> None:
    filler = "nothing personal here at all. " * 700  # 21,000 characters
    cut = 4000 - len("call me on 415 5")  # the number straddles the first window's end
    text = filler[:cut] + "call me on 415 555 0132 please " + filler

    redaction = redactor.redact(text)

    assert len(text) > 20_000
    assert "555 0132" not in redaction.text
    assert "[PHONE_NUMBER]" in redaction.text


def test_default_redactor_is_built_once_across_threads() -> None:
    seen: list[Redactor] = []
    threads = [threading.Thread(target=lambda: seen.append(default_redactor())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len({id(r) for r in seen}) == 1


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("four one one one", "4111"),
        ("double five oh one", "5501"),
        ("nineteen eighty five", "1985"),
        ("twelve thirty four", "1234"),
        ("oh eight twenty seven", "0827"),
        ("four hundred fifteen", "415"),
        ("two thousand and five", "2005"),
        ("triple seven", "777"),
    ],
)
def test_spoken_numbers_read_as_digits(words: str, digits: str) -> None:
    assert spoken_digits(words.split()) == digits


def test_the_rewrite_maps_back_to_the_original() -> None:
    text = "it's john dot smith at gmail dot com, call four one five"

    norm = normalise(text)

    assert "john.smith@gmail.com" in norm.text
    start = norm.text.index("john.smith@gmail.com")
    span = norm.to_original(start, start + len("john.smith@gmail.com"))
    assert text[slice(*span)] == "john dot smith at gmail dot com"
    digits = norm.text.index("415")
    assert text[slice(*norm.to_original(digits, digits + 3))] == "four one five"
