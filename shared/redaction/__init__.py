"""PII redaction (interim: the regex baseline until the recogniser pipeline lands)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from shared.redaction.regex_baseline import redact_text, redact_value
from shared.redaction.model import ENTITY_TYPES, Entity, Redaction

__all__ = ["ENTITY_TYPES", "Entity", "Redaction", "Redactor", "default_redactor"]


class Redactor:
    def redact(self, text: str, *, previous: str | None = None) -> Redaction:
        redacted = redact_text(text)
        found = [Entity(m.group(1), 0, 0) for m in re.finditer(r"\[([A-Z_]+)\]", redacted)]
        return Redaction(redacted, tuple(found))

    def redact_value(self, value: Any) -> Any:
        return redact_value(value)


@lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    return Redactor()
