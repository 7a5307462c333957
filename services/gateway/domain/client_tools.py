"""Client tools on the wire: the ``tool.call`` frame out and the ``tool.result`` frame in."""

from __future__ import annotations

import json
from typing import Any

from services.gateway.domain.protocol import MAX_TEXT_CHARS, ProtocolError


def tool_call_frame(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """``tool.call``; ``args`` repeats ``arguments`` for older clients (protocol doc)."""
    return {
        "type": "tool.call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "args": arguments,
    }


def parse_tool_result(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The call id and the outcome the model will read, from a ``tool.result`` body.

    Accepts the lenient aliases seen in the wild: ``tool_call_id`` for ``call_id``, ``output`` or
    ``content`` for ``result``; a non-string result is JSON-encoded.
    """
    call_id = body.get("call_id", body.get("tool_call_id"))
    if not isinstance(call_id, str) or not call_id:
        raise ProtocolError("invalid_value", "call_id is required", "call_id")
    result = next((body[k] for k in ("result", "output", "content") if k in body), None)
    if result is not None and not isinstance(result, str):
        result = json.dumps(result)
    if result is not None and len(result) > MAX_TEXT_CHARS:
        raise ProtocolError("invalid_value", "result is too long", "result")
    is_error = body.get("is_error", False)
    if not isinstance(is_error, bool):
        raise ProtocolError("invalid_value", "is_error must be a boolean", "is_error")
    if is_error:
        return call_id, {"status": "error", "error": result}
    return call_id, {"status": "ok", "result": result}
