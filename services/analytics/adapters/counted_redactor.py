"""The analytics service's redactor: counts what it finds (``switchboard_redactions_total``) and
its time, and never takes the lines' own names (``keep_terms``) for a person's."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

from services.analytics.ports import Redactor
from shared.redaction import Entity, Redaction
from shared.redaction.model import apply
from shared.telemetry.metrics import REDACTION_SECONDS, REDACTIONS

# Entity types a company or brand name can be mistaken for.
_NAME_TYPES = frozenset({"PERSON"})


class CountedRedactor:
    """Wraps a ``Redactor``; the entity types found (never the text) go to metrics."""

    def __init__(
        self, inner: Redactor, keep_terms: Iterable[str] = (), *, counted: bool = True
    ) -> None:
        self._inner = inner
        # The live feed redacts the same events again: uncounted, so the metric counts each once.
        self._counted = counted
        terms = sorted({t.strip() for t in keep_terms if t.strip()}, key=len, reverse=True)
        self._keep = (
            re.compile("|".join(rf"\b{re.escape(t)}\b" for t in terms), re.IGNORECASE)
            if terms
            else None
        )

    def redact(self, text: str, *, previous: str | None = None) -> Redaction:
        started = time.perf_counter()
        result = self._inner.redact(text, previous=previous)
        if self._keep is not None and result.entities:
            result = self._spare_keep_terms(text, result)
        if self._counted:
            REDACTION_SECONDS.observe(time.perf_counter() - started)
            for entity in result.entities:
                REDACTIONS.labels(entity.type).inc()
        return result

    def redact_value(self, value: Any) -> Any:
        return self._inner.redact_value(value)

    def _spare_keep_terms(self, text: str, result: Redaction) -> Redaction:
        """Drop name findings that lie wholly inside a configured company or brand name."""
        assert self._keep is not None
        kept = [(m.start(), m.end()) for m in self._keep.finditer(text)]
        if not kept:
            return result

        def spared(entity: Entity) -> bool:
            return entity.type in _NAME_TYPES and any(
                start <= entity.start and entity.end <= end for start, end in kept
            )

        entities = tuple(e for e in result.entities if not spared(e))
        return result if len(entities) == len(result.entities) else apply(text, entities)
