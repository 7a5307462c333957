"""Chat requests as OpenAI clients send them, made acceptable to llama_cpp.server first.

llama_cpp.server 0.3.36 rejects what the OpenAI API accepts and its clients send: an assistant
message that carries ``tool_calls`` with ``"content": null``. And when its validation fails, its
error handler prints the exception, which quotes the request (caller speech, tool arguments),
and answers 500. This middleware reads the body (bounded), normalizes it, checks it against the
server's own request model and answers 400 naming only the failing fields, so the route only
ever sees requests it accepts and nothing personal reaches a log.
"""

from __future__ import annotations

import json
from typing import Any

from llama_cpp.server.types import CreateChatCompletionRequest
from pydantic import TypeAdapter, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CHAT_PATH = "/v1/chat/completions"
# A long call's history is tens of kilobytes; beyond this the request is refused (413).
MAX_BODY_BYTES = 2_000_000
# For a request that names none. llama_cpp.server's own default, 0.8, is for open chat; at that
# temperature the 1.5B model answered a tool result with "Done." or nothing. A support agent
# wants the likely answer.
DEFAULT_TEMPERATURE = 0.2
_CHAT_REQUEST = TypeAdapter(CreateChatCompletionRequest)


def normalize_chat_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The same request in the form llama_cpp.server's request model accepts."""
    out = dict(payload)
    out.setdefault("temperature", DEFAULT_TEMPERATURE)
    if "max_tokens" not in out and "max_completion_tokens" in out:
        out["max_tokens"] = out["max_completion_tokens"]  # the newer OpenAI name
    messages = []
    for message in out.get("messages") or []:
        if isinstance(message, dict) and message.get("content", "") is None:
            message = {k: v for k, v in message.items() if k != "content"}
            if message.get("role") != "assistant" or not message.get("tool_calls"):
                message["content"] = ""
        messages.append(message)
    if "messages" in out:
        out["messages"] = messages
    return out


def request_problem(payload: Any) -> str | None:
    """None if the server accepts ``payload``; else the failing fields (never their values)."""
    try:
        _CHAT_REQUEST.validate_python(payload)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"][:3]) for e in exc.errors()})
        return "invalid request: " + ", ".join(fields[:5])
    return None


class ChatRequestGate:
    """ASGI middleware: bounded body, normalized, validated before llama_cpp.server sees it."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != CHAT_PATH:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _error(send, 413, "request body too large")
            return
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            await _error(send, 400, "the body is not JSON")
            return
        payload = normalize_chat_request(payload) if isinstance(payload, dict) else payload
        problem = request_problem(payload)
        if problem is not None:
            await _error(send, 400, problem)
            return
        fresh = json.dumps(payload).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(fresh)).encode()))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": fresh, "more_body": False}
            return await receive()  # then the client's disconnect, when it comes

        await self.app({**scope, "headers": headers}, replay, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""  # the client left; the route below answers nothing useful anyway
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _error(send: Send, status: int, message: str) -> None:
    body = json.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
