"""A minimal client of OpenAI-style streamed chat completions (SSE), as a gateway reads them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class StreamedReply:
    """What one streamed chat completion said, and when."""

    text: str = ""
    tool_name: str = ""
    tool_call_id: str = ""
    arguments: str = ""
    finish_reason: str | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    first_token_s: float | None = None  # first text or tool-call delta
    total_s: float = 0.0
    pieces: int = 0  # deltas with text or argument fragments (one per token)

    @property
    def tool_arguments(self) -> Any:
        return json.loads(self.arguments)


def stream_chat(
    client: httpx.Client, base_url: str, body: dict[str, Any], timeout_s: float = 120.0
) -> StreamedReply:
    """POST ``/chat/completions`` with ``stream: true`` and gather the deltas."""
    reply = StreamedReply()
    started = time.monotonic()
    with client.stream(
        "POST", f"{base_url}/chat/completions", json={**body, "stream": True}, timeout=timeout_s
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue  # blank separators and ": ping" comments
            data = line[len("data: ") :]
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            reply.chunks.append(chunk)
            choice = chunk["choices"][0]
            delta = choice.get("delta") or {}
            for call in delta.get("tool_calls") or []:
                function = call.get("function") or {}
                reply.tool_call_id = call.get("id") or reply.tool_call_id
                reply.tool_name += function.get("name") or ""
                reply.arguments += function.get("arguments") or ""
                reply.pieces += bool(function.get("arguments"))
            if delta.get("content"):
                reply.text += delta["content"]
                reply.pieces += 1
            if reply.first_token_s is None and (delta.get("content") or delta.get("tool_calls")):
                reply.first_token_s = time.monotonic() - started
            reply.finish_reason = choice.get("finish_reason") or reply.finish_reason
    reply.total_s = time.monotonic() - started
    return reply
