"""Fourth-round families: numbers said in parts with linking words, streets without a type,
letters spelled one by one in emails, names after who-did-it cues and form labels, accented and
hyphenated names, cities before a full stop, dotted dates."""

from __future__ import annotations

import pytest

from shared.redaction import Redactor
from shared.redaction.bridges import bridge
from shared.redaction.model import Entity
from shared.redaction.places import city_spans
from tests.support.redaction import covered as _covered
from tests.support.redaction import touched as _touched


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # a number read in parts, with linking words between the parts
        ("it's nine one nine, then three three two, then four four one oh",
         "nine one nine, then three three two, then four four one oh"),
        ("dial 1800, then 555, 2219 for me", "1800, then 555, 2219"),
        # a local part ending in a short word after a connector, or spelled letter by letter
        ("it's ada underscore a at yahoo dot co dot uk", "ada underscore a at yahoo dot co dot uk"),
        ("it's m for mike, a, r, c, o at gmail dot com", "m for mike, a, r, c, o at gmail dot com"),
        ("jon p, p as in papa, at icloud dot com", "jon p, p as in papa, at icloud dot com"),
        ("mail it to lola, l o l a, at yahoo dot com", "lola, l o l a, at yahoo dot com"),
        # a street without a type: a unit, a ZIP code, a compass word, or a unit said first
        ("it's four ten clement, number six", "four ten clement, number six"),
        ("thirty north dearborn, floor twelve", "thirty north dearborn, floor twelve"),
        ("ship to 88 Wexford 60614", "88 Wexford 60614"),
        ("apartment 9C, 310 Lenox, New York", "apartment 9C, 310 Lenox"),
        ("we're at 75 Ninth, 4th floor, by the lifts", "75 Ninth, 4th floor"),
        ("I live at 3 Bramble Hollow, Totnes.", "3 Bramble Hollow"),
        ("send to 8 The Crescent, Bath", "8 The Crescent"),
        ("sixty one vanderbilt avenue, second floor", "sixty one vanderbilt avenue, second floor"),
        ("the street is Hawthorne and the number is 12", "Hawthorne"),
        ("my home is 10 Downing", "10 Downing"),
        ("could you put it under the name shreya", "shreya"),
        ("you are speaking to lorenzo", "lorenzo"),
        # names: who did it, form labels, accents, hyphens, a third word
        ("it was picked up by rosalía quintana", "rosalía quintana"),
        ("Authorized pickup person: Marcus Adebayo-Klein.", "Marcus Adebayo-Klein"),
        ("it was bought by ana lucía paredes", "ana lucía paredes"),
        ("Please cancel it for Oliver Wojciechowski.", "Oliver Wojciechowski"),
    ],
)  # fmt: skip
def test_broadened_families_are_redacted(redactor: Redactor, text: str, value: str) -> None:
    assert _covered(redactor, text, value), redactor.redact(text).text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Ship to 63 Willow Creek Drive, Boise. Thanks", "Boise"),
        ("yeah ship it to minneapolis not saint paul", "saint paul"),
        ("Born 12.01.1988, ordered the stroller on 12.01.2024.", "12.01.2024"),
        ("the Dell XPS 15 I bought in 2023 stopped charging", "Dell XPS"),
        ("Tracking #95067392707938 (DHL), ETA Tue 3/19 by 8pm", "Tue 3/19"),
        ("I need 2 north face jackets", "north face jackets"),
        ("it's the jordan one retro highs in chicago colorway", "jordan"),
    ],
)
def test_business_values_and_places_stay(redactor: Redactor, text: str, value: str) -> None:
    assert not _touched(redactor, text, value), redactor.redact(text).text


def test_bridge_joins_same_kind_only_across_link_words() -> None:
    text = "617, then 824, 9910 and my card"
    phones = [Entity("PHONE_NUMBER", 0, 3), Entity("PHONE_NUMBER", 10, 19)]
    assert Entity("PHONE_NUMBER", 0, 19) in bridge(text, phones)
    mixed = [Entity("PHONE_NUMBER", 0, 3), Entity("CREDIT_CARD", 10, 19)]
    assert bridge(text, mixed) == []


def test_city_before_full_stop() -> None:
    text = "Drive, Boise."
    assert (7, 12) in city_spans(text)
