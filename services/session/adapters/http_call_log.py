"""Stored calls read from the analytics API (``/v1/calls``), for rule backtests.

Bounded: at most ``max_calls`` calls per backtest, pages of 200, each request within
``timeout_s``; an analytics API that is down or refuses the key is reported as
``CallLogUnavailableError`` (the backtest endpoint answers 502), never retried in a loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx

from services.session.ports import SessionRegistry

PAGE = 200


class CallLogUnavailableError(RuntimeError):
    """The analytics API could not be read (down, refused the key, or answered nonsense)."""


class AnalyticsCallLog:
    def __init__(self, base_url: str, key: str | None, *, timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def calls(
        self, *, since: datetime, until: datetime, line_id: str | None, max_calls: int
    ) -> AsyncIterator[dict[str, Any]]:
        """Each stored call in the range with its timeline, newest first, up to ``max_calls``."""
        params: dict[str, Any] = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "limit": min(PAGE, max_calls),
        }
        if line_id:
            params["line_id"] = line_id
        seen = 0
        while seen < max_calls:
            page = await self._get("/v1/calls", params)
            for summary in page.get("calls") or []:
                if seen >= max_calls:
                    return
                seen += 1
                yield await self._get(f"/v1/calls/{summary['call_id']}", None)
            cursor = page.get("next_cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    async def call(self, call_id: str) -> dict[str, Any]:
        """One stored call with its sections and timeline (redacted)."""
        return await self._get(f"/v1/calls/{call_id}", None)

    async def _get(self, path: str, params: dict[str, Any] | None) -> dict[str, Any]:
        try:
            response = await self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise CallLogUnavailableError("the analytics API did not answer") from exc
        if response.status_code != 200:
            raise CallLogUnavailableError(f"the analytics API answered {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise CallLogUnavailableError("the analytics API answered something not JSON") from exc
        if not isinstance(body, dict):
            raise CallLogUnavailableError("the analytics API answered something unexpected")
        return body


class AnalyticsCallContext:
    """What an agent sees before accepting: the redacted transcript from the analytics call
    log (the analytics service redacts every turn before it stores it) and a short summary.

    The session service itself never shows the raw words it scores. A turn spoken a moment
    before the offer may not be stored yet; the offer goes out with what is there.
    """

    def __init__(
        self,
        call_log: AnalyticsCallLog,
        registry: SessionRegistry | None = None,
        *,
        max_turns: int = 40,
        catch_up_s: float = 1.5,
    ) -> None:
        self._call_log = call_log
        self._registry = registry
        self._max_turns = max_turns
        self._catch_up_s = catch_up_s

    async def describe(self, call_id: str) -> dict[str, Any]:
        call = await self._stored(call_id)
        turns = [t for t in call.get("turns") or [] if t.get("text")]
        transcript = [
            {"role": "caller" if t.get("role") == "user" else "agent", "text": t["text"]}
            for t in turns[-self._max_turns :]
        ]
        return {"summary": summarise(call), "transcript": transcript}

    async def _stored(self, call_id: str) -> dict[str, Any]:
        """The stored call, once it holds the caller turns the registry has seen (the call log
        trails the live events by a moment); what is there after ``catch_up_s`` otherwise."""
        live = await self._registry.get(call_id) if self._registry is not None else None
        expected = live.user_turns if live is not None else 0
        deadline = asyncio.get_running_loop().time() + self._catch_up_s
        while True:
            try:
                call = await self._call_log.call(call_id)
            except CallLogUnavailableError:
                call = {}
            if (call.get("user_turns") or 0) >= expected and call:
                return call
            if asyncio.get_running_loop().time() >= deadline:
                return call
            await asyncio.sleep(0.15)


def summarise(call: dict[str, Any]) -> str:
    """A few plain sentences from the stored (redacted) call: what the caller came for, what
    the agent tried, how long it has gone on."""
    parts = []
    first = next((t for t in call.get("turns") or [] if t.get("role") == "user"), None)
    if first is not None and first.get("text"):
        parts.append(f"Caller opened with: \u201c{str(first['text'])[:300]}\u201d.")
    tools = call.get("tool_calls") or []
    if tools:
        done = ", ".join(f"{t.get('name')} ({t.get('status') or 'pending'})" for t in tools[-5:])
        parts.append(f"The AI agent used: {done}.")
    user_turns = call.get("user_turns") or 0
    if user_turns:
        parts.append(f"{user_turns} caller turns so far.")
    return " ".join(parts) or "No transcript stored yet."
