"""OpenAI-compatible chat completions, streamed, with tools.

One adapter serves OpenAI, vLLM, Ollama, llama.cpp servers and the embedded model server
(``infra/llm``): ``POST {base_url}/chat/completions`` with ``stream: true``, read as server-sent
events. Text deltas are passed on as they arrive; tool calls arrive in pieces
(``delta.tool_calls[i]`` with an ``index``) and are passed on whole when the stream ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from services.gateway.dialogue.base import (
    DialogueError,
    DialogueOutput,
    Message,
    TextDelta,
    ToolCallRequest,
)

# Bounds on what one streamed answer may hold; past them the answer is refused as malformed.
MAX_SSE_LINE_CHARS = 200_000
MAX_ANSWER_CHARS = 20_000
MAX_TOOL_CALLS = 8
MAX_ARGUMENT_CHARS = 20_000


class OpenAIChatProvider:
    """A chat-completions endpoint; ``base_url`` ends in ``/v1`` (or the server's equivalent)."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        name: str = "llm",
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 30.0,
        temperature: float = 0.2,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._temperature = temperature
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def stream(
        self, messages: list[Message], tools: list[dict[str, Any]], *, max_tokens: int
    ) -> AsyncIterator[DialogueOutput]:
        body: dict[str, Any] = {
            "model": self._model,
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": self._temperature,
        }
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        try:
            async with self._client.stream("POST", self._url, json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise DialogueError(
                        f"chat completions answered {response.status_code}",
                        retryable=response.status_code in (408, 429) or response.status_code >= 500,
                    )
                async for output in _read_events(response):
                    yield output
        except httpx.HTTPError as exc:
            raise DialogueError(f"chat completions unreachable: {type(exc).__name__}") from exc


async def _read_events(response: httpx.Response) -> AsyncIterator[DialogueOutput]:
    calls: dict[int, dict[str, str]] = {}
    answered = 0
    async for line in response.aiter_lines():
        if len(line) > MAX_SSE_LINE_CHARS:
            raise DialogueError("stream line too long", retryable=False)
        if not line.startswith("data:"):
            continue  # comments, event names, keep-alives
        data = line[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
        except ValueError:
            raise DialogueError("stream chunk is not JSON", retryable=False) from None
        if not isinstance(chunk, dict):
            raise DialogueError("stream chunk is not an object", retryable=False)
        if "error" in chunk:
            raise DialogueError("provider reported an error mid-stream")
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                answered += len(text)
                if answered > MAX_ANSWER_CHARS:
                    raise DialogueError("answer too long", retryable=False)
                yield TextDelta(text)
            for piece in delta.get("tool_calls") or []:
                _merge_tool_call(calls, piece)
    for index in sorted(calls):
        call = calls[index]
        if not call["name"]:
            raise DialogueError("tool call without a name", retryable=False)
        yield ToolCallRequest(
            id=call["id"] or f"call_{index}", name=call["name"], arguments=call["arguments"] or "{}"
        )


def _merge_tool_call(calls: dict[int, dict[str, str]], piece: Any) -> None:
    if not isinstance(piece, dict):
        raise DialogueError("malformed tool call delta", retryable=False)
    index = piece.get("index", len(calls))
    if not isinstance(index, int) or index < 0 or index >= MAX_TOOL_CALLS:
        raise DialogueError("too many tool calls in one answer", retryable=False)
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    function = piece.get("function") or {}
    if isinstance(piece.get("id"), str):
        call["id"] = piece["id"]
    if isinstance(function.get("name"), str):
        call["name"] += function["name"] if call["name"] != function["name"] else ""
    arguments = function.get("arguments")
    if isinstance(arguments, dict):  # some servers send an object, not a JSON string
        arguments = json.dumps(arguments)
    if isinstance(arguments, str):
        call["arguments"] += arguments
        if len(call["arguments"]) > MAX_ARGUMENT_CHARS:
            raise DialogueError("tool arguments too long", retryable=False)
