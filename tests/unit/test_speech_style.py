"""Text as it is spoken on a phone line: what the agent says, and what the caller said."""

from __future__ import annotations

import pytest

from services.gateway.dialogue.speech_style import for_speech, looks_like_json, written_ids

# -- for_speech: what the agent says -------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("ORD-77315", "order seven seven three one five"),
        ("ord-77315", "order seven seven three one five"),
        ("Your order ORD-77315 has shipped.", "Your order seven seven three one five has shipped."),
        ("order number ORD-77315", "order number seven seven three one five"),
        ("Customer CUS-001234 found.", "Customer zero zero one two three four found."),
        ("I opened RMA-55501.", "I opened return five five five zero one."),
        ("Ticket TCK-123456 is open.", "Ticket one two three four five six is open."),
        ("Booked CB-4021.", "Booked callback four zero two one."),
    ],
)
def test_ids_are_said_digit_by_digit_with_their_kind(written: str, spoken: str) -> None:
    assert for_speech(written) == spoken


def test_an_id_after_its_own_word_does_not_double_the_word() -> None:
    spoken = for_speech("I found order ORD-77315 for you.")

    assert spoken == "I found order seven seven three one five for you."
    assert "order order" not in spoken


def test_bold_headings_code_and_links_are_stripped() -> None:
    spoken = for_speech(
        "## Update\n**Good news!** Your `refund` is on [this page](https://x.test/r)."
    )

    assert spoken == "Update. Good news! Your refund is on this page."


def test_list_items_become_sentences() -> None:
    spoken = for_speech("You can:\n- return it\n* exchange it\n1. keep it\n2) get store credit")

    assert spoken == "You can: return it. exchange it. keep it. get store credit"
    assert not any(mark in spoken for mark in ("-", "*", "1.", "2)"))


@pytest.mark.parametrize(
    "internal",
    [
        "call_8f3k2LmQ9x",
        "sess_ABCDEF12",
        "toolu_01AbCdEf",
        "chatcmpl_9xYz12ab",
        "123e4567-e89b-12d3-a456-426614174000",
    ],
)
def test_internal_ids_are_never_said(internal: str) -> None:
    assert for_speech(f"Done, reference {internal} saved.") == "Done, reference saved."


def test_long_numbers_are_said_digit_by_digit() -> None:
    assert for_speech("Call 5551234567 today.") == (
        "Call five five five one two three four five six seven today."
    )


def test_tracking_codes_are_spelled_character_by_character() -> None:
    assert for_speech("Tracking 1Z999AA1 is moving.") == (
        "Tracking one Z nine nine nine A A one is moving."
    )


@pytest.mark.parametrize(
    "text",
    [
        "That comes to $129.99 today.",
        "A refund of $12345 was issued.",
        "It weighs 12345.67 pounds.",
        "About 3.14159 units.",
        "The total is 1,234,567 dollars.",
        "We have 12 items from 2024.",
        "We open at 10:30.",
        "Shouting WORDS stay as they are.",
    ],
)
def test_money_decimals_and_short_numbers_are_left_as_written(text: str) -> None:
    assert for_speech(text) == text


def test_nothing_speakable_is_empty() -> None:
    assert for_speech("") == ""
    assert for_speech("**  **\n- \n") == ""
    assert for_speech("call_8f3k2LmQ9x") == ""


# -- written_ids: what the caller said -----------------------------------------------------------


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("O R D seven seven three one five", "ORD-77315"),
        ("o r d seven seven three one five", "ORD-77315"),
        ("it's O R D 77315", "it's ORD-77315"),
        ("ord 77315", "ORD-77315"),
        ("O R D seven seven oh one five", "ORD-77015"),
        ("C U S zero zero one two three four", "CUS-001234"),
        ("R M A one two three", "RMA-123"),
        ("my callback is C B one two three", "my callback is CB-123"),
    ],
)
def test_spelled_ids_are_put_back_together(heard: str, written: str) -> None:
    assert written_ids(heard) == written


def test_an_id_prefix_said_as_words_keeps_the_words() -> None:
    assert written_ids("order number 77315") == "order number ORD-77315"
    assert written_ids("order seven seven three one five please") == "order ORD-77315 please"


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("nine oh two one oh", "90210"),
        ("my zip is nine oh two one oh", "my zip is 90210"),
        ("call me at five five five one two three four", "call me at 5551234"),
    ],
)
def test_other_spoken_digit_runs_become_numbers(heard: str, written: str) -> None:
    assert written_ids(heard) == written


@pytest.mark.parametrize(
    "sentence",
    [
        "I have one question",
        "I want two shirts and one hat",
        "it was one of three",
        "oh two things",
        "one two",
        "I want to order one",
        "the order was 3 days ago",
        "ORD-77315",
        "O R D seven seven",
    ],
)
def test_ordinary_sentences_are_untouched(sentence: str) -> None:
    assert written_ids(sentence) == sentence


# -- looks_like_json ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ['{"status": "ok"}', '  [{"a": 1}]', 'Result: {"order_id": "ORD-1"}', "{", "[1, 2]"]
)
def test_json_is_recognised(text: str) -> None:
    assert looks_like_json(text)


@pytest.mark.parametrize(
    "text", ["Your order has shipped.", 'She said "hi": twice.', "Okay { fine", "a [b] c"]
)
def test_prose_is_not_json(text: str) -> None:
    assert not looks_like_json(text)


def test_single_asterisk_emphasis_is_stripped() -> None:
    assert for_speech("I'm *really* sorry about that.") == "I'm really sorry about that."


def test_an_id_written_with_a_hash_is_not_doubled() -> None:
    assert for_speech("Your order #ORD-77315 shipped.") == (
        "Your order seven seven three one five shipped."
    )
