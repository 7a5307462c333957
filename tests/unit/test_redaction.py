"""Baseline PII redaction: the written and spoken forms go, business values stay."""

from __future__ import annotations

import pytest

from shared.redaction.regex_baseline import redact_text, redact_value


@pytest.mark.parametrize(
    ("text", "secret", "entity"),
    [
        ("my card is 4111 1111 1111 1111 thanks", "4111", "[CARD]"),
        ("my card is 4111-1111-1111-1111 thanks", "4111", "[CARD]"),
        ("card 4111111111111111 ok", "4111", "[CARD]"),
        ("amex 3782 822463 10005 please", "822463", "[CARD]"),
        ("mail me at john.smith@gmail.com today", "john.smith", "[EMAIL]"),
        ("it's john dot smith at gmail dot com", "smith", "[EMAIL]"),
        ("call me on +1 415 555 0132 please", "555", "[PHONE]"),
        ("my number is 415-555-0132", "0132", "[PHONE]"),
        ("call +1 (415) 555-0132", "0132", "[PHONE]"),
        (
            "it's four one one one, one one one one, one one one one, one one one one",
            "four one one one",
            "[NUMBER]",
        ),
        ("my number is four one five, five five five, oh one three two", "oh one", "[NUMBER]"),
    ],
)
def test_pii_is_replaced_by_its_entity(text: str, secret: str, entity: str) -> None:
    redacted = redact_text(text)

    assert secret not in redacted
    assert entity in redacted


def test_text_around_the_redaction_is_kept() -> None:
    assert redact_text("call +1 415 555 0132 please") == "call [PHONE] please"
    assert redact_text("email john dot smith at gmail dot com now") == "email [EMAIL] now"


@pytest.mark.parametrize(
    "text",
    [
        "my order is ORD-77315",
        "it cost $45.99",
        "it cost $1,299.00 in total",
        "it arrives 2026-11-20",
        "delivered 2026-11-20T10:30:00",
        "I ordered 3 items",
        "return RMA-1203 please",
    ],
)
def test_business_values_are_kept(text: str) -> None:
    assert redact_text(text) == text


def test_business_values_survive_next_to_pii() -> None:
    text = "order ORD-77315 for $45.99 on 2026-11-20, card 4111 1111 1111 1111, 3 items"

    redacted = redact_text(text)

    assert redacted == "order ORD-77315 for $45.99 on 2026-11-20, card [CARD], 3 items"


def test_short_spoken_numbers_are_kept() -> None:
    assert redact_text("I want two shirts and one hat") == "I want two shirts and one hat"


def test_plain_text_is_unchanged() -> None:
    assert redact_text("where is my package?") == "where is my package?"


def test_redact_value_recurses_into_dicts_and_lists() -> None:
    value = {
        "order_id": "ORD-77315",
        "contact": {"email": "jane@example.com", "phones": ["+1 415 555 0132", "n/a"]},
        "count": 3,
        "ok": True,
        "nothing": None,
    }

    assert redact_value(value) == {
        "order_id": "ORD-77315",
        "contact": {"email": "[EMAIL]", "phones": ["[PHONE]", "n/a"]},
        "count": 3,
        "ok": True,
        "nothing": None,
    }


def test_redact_value_turns_tuples_into_redacted_lists() -> None:
    assert redact_value(("jane@example.com", 1)) == ["[EMAIL]", 1]


def test_redact_value_leaves_scalars_and_bytes_alone() -> None:
    assert redact_value(4111111111111111) == 4111111111111111
    assert redact_value(b"jane@example.com") == b"jane@example.com"


def test_redact_value_does_not_mutate_its_input() -> None:
    value = {"emails": ["jane@example.com"]}

    redact_value(value)

    assert value == {"emails": ["jane@example.com"]}
