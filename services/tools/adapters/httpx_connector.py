"""The generic HTTP connector: a tool that is one HTTP call to a team's own system.

Configured per tool (``backend: http`` with an ``http`` block, see docs/tools.md):

- ``url``: ``{argument}`` placeholders are URL-quoted (``/`` too), so an argument can never
  change the host or the path's shape; a missing optional argument becomes empty.
- ``headers``: values may hold ``${ENV_NAME}`` secrets, read from the environment at call time.
- ``body``: a JSON template; a string leaf that is exactly ``"{argument}"`` takes the argument's
  JSON value (number, list ...), other strings are filled as text.
- ``response``: output field -> dotted path into the JSON answer (``data.items.0.name``).
- bounds: the request's timeout is what is left of the command's deadline; the response body
  is read up to ``max_response_bytes`` and refused beyond it.

5xx, 429, connection failures and timeouts are retryable errors (the executor decides whether to
retry: reads, or writes with an idempotency key, which is sent as ``Idempotency-Key``); other
4xx, non-JSON and oversized answers are not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from services.tools.domain.execution import BackendError, ToolRequest
from shared.lines import HttpCall
from shared.lines.model import ARGUMENT_PLACEHOLDER, ENV_PLACEHOLDER

UNREACHABLE = "The connected system could not be reached."
UNREADABLE = "The connected system answered with something unreadable."
TOO_LARGE = "The connected system's answer was too large to use."
MISCONFIGURED = "This tool is not configured correctly; tell the caller it is unavailable."


def render_url(template: str, arguments: Mapping[str, Any]) -> str:
    def fill(match: Any) -> str:
        value = arguments.get(match.group(1))
        return "" if value is None else quote(str(value), safe="")

    return ARGUMENT_PLACEHOLDER.sub(fill, template)


def render_body(template: Any, arguments: Mapping[str, Any]) -> Any:
    if isinstance(template, dict):
        return {k: render_body(v, arguments) for k, v in template.items()}
    if isinstance(template, list):
        return [render_body(v, arguments) for v in template]
    if isinstance(template, str):
        whole = ARGUMENT_PLACEHOLDER.fullmatch(template)
        if whole is not None:
            return arguments.get(whole.group(1))
        return ARGUMENT_PLACEHOLDER.sub(lambda m: str(arguments.get(m.group(1), "")), template)
    return template


def render_headers(headers: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    def secret(match: Any) -> str:
        name = match.group(1)
        if name not in env:
            raise BackendError(MISCONFIGURED, retryable=False)
        return env[name]

    return {k: ENV_PLACEHOLDER.sub(secret, v) for k, v in headers.items()}


def pick(document: Any, path: str) -> Any:
    """The value at a dotted path (list indices as numbers); None when absent."""
    value = document
    for part in path.split(".") if path else []:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


class HttpConnector:
    """``ToolBackend`` for one ``backend: http`` tool."""

    def __init__(
        self, call: HttpCall, client: httpx.AsyncClient, env: Mapping[str, str] | None = None
    ) -> None:
        self._call = call
        self._client = client
        self._env = os.environ if env is None else env

    async def invoke(self, request: ToolRequest) -> dict[str, Any]:
        call = self._call
        headers = render_headers(call.headers, self._env)
        headers.setdefault("Accept", "application/json")
        headers["Idempotency-Key"] = request.idempotency_key
        body = render_body(call.body, request.arguments) if call.body is not None else None
        try:
            async with self._client.stream(
                call.method,
                render_url(call.url, request.arguments),
                headers=headers,
                json=body,
                timeout=httpx.Timeout(request.timeout_s),
            ) as response:
                raw = await self._read(response, call.max_response_bytes)
        except httpx.TransportError as exc:  # connect, read, write, pool timeouts included
            raise BackendError(UNREACHABLE, retryable=True) from exc
        except httpx.InvalidURL as exc:
            raise BackendError(MISCONFIGURED, retryable=False) from exc
        return self._result(response.status_code, raw)

    @staticmethod
    async def _read(response: httpx.Response, limit: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BackendError(TOO_LARGE, retryable=False)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:  # stop reading at the bound; the connection is closed
                raise BackendError(TOO_LARGE, retryable=False)
            chunks.append(chunk)
        return b"".join(chunks)

    def _result(self, status: int, raw: bytes) -> dict[str, Any]:
        if status >= 500 or status == 429:
            raise BackendError(f"The connected system failed (HTTP {status}).", retryable=True)
        if status >= 400:
            raise BackendError(f"The connected system refused the request (HTTP {status}).",
                               retryable=False)  # fmt: skip
        if not raw.strip():
            return {}
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BackendError(UNREADABLE, retryable=False) from exc
        if not self._call.response:
            return document if isinstance(document, dict) else {"result": document}
        return {field: pick(document, path) for field, path in self._call.response.items()}
