"""The walking skeleton's answer rule, standing in until the dialogue layer arrives.

It is deliberately small and deterministic: recognisable intents of the demo line get a fixed,
truthful answer; anything else gets a prompt to say more. It never repeats the caller's words.
"""

from __future__ import annotations

import re

from shared.lines import SupportLine

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b(person|human|agent|representative|someone real)\b", re.I),
        "I understand you'd like to speak with a person. Handing calls to our team is not "
        "available on this line yet, but I'm noting your request.",
    ),
    (
        re.compile(r"\b(order|package|delivery|shipping|shipment|track)\b", re.I),
        "I can help with your order. Order lookups are not connected on this line yet, so "
        "please keep your order number handy for our team.",
    ),
    (
        re.compile(r"\b(return|refund|exchange)\b", re.I),
        "You can return most items within thirty days of delivery for a full refund.",
    ),
    (
        re.compile(r"\b(bye|goodbye|that's all|thank you|thanks)\b", re.I),
        "You're welcome. Goodbye!",
    ),
    (re.compile(r"\b(hi|hello|hey)\b", re.I), "Hello! How can I help you today?"),
)
FALLBACK = "Sorry, I didn't catch what you need. Could you tell me a bit more?"


def answer(line: SupportLine, utterance: str) -> str:
    """The agent's reply to one caller utterance."""
    hours = line.policies.get("hours")
    if hours and re.search(r"\b(hours|open|close|closing)\b", utterance, re.I):
        return hours
    for pattern, reply in _RULES:
        if pattern.search(utterance):
            return reply
    return FALLBACK
