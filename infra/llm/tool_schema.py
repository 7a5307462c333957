"""The part of a tool's JSON schema that a generation grammar can hold.

The grammar makes the model write well-formed arguments of the right shape: the right keys,
types, enums and patterns (so an order id reads ``ORD-`` and digits). What a grammar cannot say
compactly is left to the schema validation the caller does anyway before a tool runs:

- ``anyOf``/``oneOf``/``allOf`` beside ``properties`` (like "phone, or email, or name and zip")
  would turn the arguments into alternative objects; the properties stay, all optional.
- a long ``maxLength`` unrolls into one grammar rule per character; above
  ``MAX_GRAMMAR_LENGTH`` the bound is lifted (the generation's token cap still ends it).
"""

from __future__ import annotations

from typing import Any

MAX_GRAMMAR_LENGTH = 64
_COMBINATORS = ("anyOf", "oneOf", "allOf")
_DROPPED = ("description", "title", "default", "examples", "$comment")


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` that ``LlamaGrammar.from_json_schema`` turns into a small grammar."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED:
            continue
        if key in _COMBINATORS and "properties" in schema:
            continue
        if key == "maxLength" and isinstance(value, int) and value > MAX_GRAMMAR_LENGTH:
            continue
        if key == "minLength" and isinstance(value, int) and value > MAX_GRAMMAR_LENGTH:
            out[key] = MAX_GRAMMAR_LENGTH
            continue
        out[key] = _nested(key, value)
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def _nested(key: str, value: Any) -> Any:
    if key == "properties" and isinstance(value, dict):
        return {name: grammar_schema(sub) for name, sub in value.items()}
    if key in ("items", "additionalProperties") and isinstance(value, dict):
        return grammar_schema(value)
    if key in _COMBINATORS and isinstance(value, list):
        return [grammar_schema(sub) if isinstance(sub, dict) else sub for sub in value]
    return value
