"""Fixtures the unit tests share."""

from __future__ import annotations

import pytest

from shared.redaction import Redactor, default_redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    """The process-wide redactor (spaCy and the name lists load once)."""
    return default_redactor()
