"""PII redaction for transcripts and tool arguments: written and spoken forms.

Usage: ``default_redactor().redact(text, previous=...)`` and ``.redact_value(json_like)``.
"""

from shared.redaction.engine import Redactor, default_redactor
from shared.redaction.model import ENTITY_TYPES, Entity, Redaction

__all__ = ["ENTITY_TYPES", "Entity", "Redaction", "Redactor", "default_redactor"]
