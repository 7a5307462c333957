"""Postal codes: part of an address (a US ZIP after a city, a UK postcode, "zip is ...").

A five-digit number alone is too common to be a ZIP; it counts after a ZIP cue, or after a
word that reads as a city or state in an address-like sentence.
"""

from __future__ import annotations

import re

from shared.redaction.address import find_addresses
from shared.redaction.model import Entity

_ZIP_CUE = re.compile(
    r"(?<![a-z0-9])(?:zip|zip ?code|postal ?code|post ?code|postcode|zip_code|postal_code)"
    r"(?:[ \t]+(?:is|was|it's))?['\"]?[ \t:=]*['\"]?"
    r"(?P<code>\d{5}(?:[ \t]*-[ \t]*\d{4})?|[a-z]{1,2}\d[a-z\d]?[ \t]*\d[a-z]{2})(?![\w])",
    re.IGNORECASE,
)
_STATE = (
    r"AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    r"NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
# "Chicago IL 60614", "Seattle, WA 98103-1234": a state code then a ZIP.
_ZIP_AFTER_STATE = re.compile(
    rf"(?<![\w])(?:{_STATE}),?[ \t]+(?P<code>\d{{5}}(?:-\d{{4}})?)(?![\w-])"
)
# After an address: a ZIP or postcode within a city name or two ("..., Seattle 98103").
_AFTER_ADDRESS = re.compile(
    r"(?:[ \t,]+[A-Za-z.'\-]+){0,4}?[ \t,]+(?P<code>\d{5}(?:[ \t]*-[ \t]*\d{4})?|\d{3}-\d{4}|"
    r"[a-z]{1,2}[ \t]?\d[a-z\d]?[ \t]?\d[ \t]?[a-z][ \t]?[a-z]|"
    r"[a-z]\d[a-z][ \t]?\d[a-z]\d)(?![\w])",
    re.IGNORECASE,
)
# Canadian postcodes, written ("M5J 2N6"): letter, digit, letter, then digit, letter, digit.
_CA = re.compile(r"(?<![\w])(?P<code>[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)(?![\w])")
# UK postcodes, written ("E8 4DA", "SW1A 1AA") or spelled ("e 8 4 d a" after normalising).
_UK = re.compile(
    r"(?<![\w])(?P<code>[A-Z]{1,2}[ \t]?\d[A-Z\d]?[ \t]?\d[ \t]?[A-Z][ \t]?[A-Z])(?![\w])"
)


def find_postcodes(text: str) -> list[Entity]:
    """Postal codes said as part of an address."""
    found: list[Entity] = []
    for address in find_addresses(text):
        m = _AFTER_ADDRESS.match(text, address.end)
        if m is not None:
            found.append(Entity("STREET_ADDRESS", m.start("code"), m.end("code")))
    for pattern in (_ZIP_CUE, _ZIP_AFTER_STATE, _UK, _CA):
        found.extend(
            Entity("STREET_ADDRESS", m.start("code"), m.end("code")) for m in pattern.finditer(text)
        )
    return found
