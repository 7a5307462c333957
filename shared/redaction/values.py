"""Redaction of JSON-like values (tool arguments): a dict key is context for its value.

``{"phone": "4155550132"}`` carries no cue in the value itself; the key is the cue. A string
is analysed as ``"<key words>: <value>"`` so the key's words act as cues, and under a PII-named
key a value with no finding is replaced whole. Business keys keep their values verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from shared.redaction.model import Entity, apply, merge_entities

# Key words (split on "_", "-", camelCase) that say what a value is.
_PII_KEYS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"^(?:{pattern})$"))
    for kind, pattern in (
        ("IBAN", r"iban"),
        ("CVV", r"cvv2?|cvc2?|csc|security code|card code|security"),
        ("CARD_EXPIRY", r"exp|expiry|expiration|expires|exp date|expiry date|expiration date"),
        ("CREDIT_CARD", r"card|cc|pan|card number|cc number|credit card|card no|debit card"),
        ("US_SSN", r"ssn|social|social security|social security number|tax id|tin"),
        ("DATE_OF_BIRTH", r"dob|birth|birthday|date of birth|birth date|birthdate|born"),
        ("EMAIL_ADDRESS", r"e ?mail|email address|mail"),
        ("PHONE_NUMBER", r"phone|mobile|cell|tel|telephone|fax|phone number|contact number|"
                         r"mobile number|callback|callback number"),
        ("BANK_ACCOUNT", r"account number|bank account|routing|routing number|acct|"
                         r"account no|sort code|bsb|bank account number"),
        ("STREET_ADDRESS", r"address|street|address line ?\d?|shipping address|billing address|"
                           r"street address|addr|postcode|zip|zip code|postal code"),
        ("PERSON", r"name|first name|last name|full name|customer name|customer|holder|"
                   r"card holder|cardholder|recipient|contact|contact name|surname|given name|"
                   r"account holder|account name"),
    )
)  # fmt: skip
_BUSINESS_KEYS = re.compile(
    r"^(?:order(?: id| number| no)?|sku|item(?: id| name)?|product(?: id| name)?|"
    r"(?:store|carrier|brand|file|city|line|tool) name|"
    r"tracking(?: number| id)?|"
    r"amount|total|price|quantity|qty|currency|status|city|delivery date|ship date|date|"
    r"time|carrier|rma|return id|invoice(?: id)?|id)$"
)


class _Finds(Protocol):
    def find(self, text: str) -> list[Entity]: ...


def key_words(key: str) -> str:
    """``"cardNumber"``/``"card_number"`` -> ``"card number"``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return " ".join(re.split(r"[_\-\s.]+", spaced)).strip().lower()


def _kind_of(key: str | None) -> str | None:
    if key is None:
        return None
    words = key_words(key)
    if _BUSINESS_KEYS.match(words):
        return None
    for kind, pattern in _PII_KEYS:
        if pattern.match(words):
            return kind
    last = words.split(" ")[-1]
    for kind, pattern in _PII_KEYS:
        # "billing_email", "home_phone": the last word says it; but "product_name" is no person.
        if kind != "PERSON" and pattern.match(last):
            return kind
    return None


def _redact_string(finder: _Finds, value: str, key: str | None) -> str:
    kind = _kind_of(key)
    prefix = f"{key_words(key)}: " if key else ""
    found = [
        Entity(e.type, max(e.start - len(prefix), 0), e.end - len(prefix))
        for e in finder.find(prefix + value)
        if e.end > len(prefix)
    ]
    if not found and kind is not None and value.strip():
        return f"[{kind}]"
    return apply(value, merge_entities(found)).text


def redact_json(finder: _Finds, value: Any, key: str | None = None) -> Any:
    """``value`` with its strings redacted; ``key`` is the dict key it sits under, if any."""
    if key is not None and _BUSINESS_KEYS.match(key_words(key)):
        if isinstance(value, str | int | float | bool) or value is None:
            return value
    if isinstance(value, str):
        return _redact_string(finder, value, key)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        kind = _kind_of(key)
        return f"[{kind}]" if kind is not None else value
    if isinstance(value, Mapping):
        return {k: redact_json(finder, v, str(k)) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [redact_json(finder, v, key) for v in value]
    return value
