"""A redactor that counts what it finds (``switchboard_redactions_total``) and its time."""

from __future__ import annotations

import time
from typing import Any

from services.analytics.ports import Redactor
from shared.redaction import Redaction
from shared.telemetry.metrics import REDACTION_SECONDS, REDACTIONS


class CountedRedactor:
    """Wraps a ``Redactor``; the entity types found (never the text) go to metrics."""

    def __init__(self, inner: Redactor) -> None:
        self._inner = inner

    def redact(self, text: str, *, previous: str | None = None) -> Redaction:
        started = time.perf_counter()
        result = self._inner.redact(text, previous=previous)
        REDACTION_SECONDS.observe(time.perf_counter() - started)
        for entity in result.entities:
            REDACTIONS.labels(entity.type).inc()
        return result

    def redact_value(self, value: Any) -> Any:
        return self._inner.redact_value(value)
