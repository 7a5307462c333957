"""Bounded polling for tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_until(
    predicate: Callable[[], T | Awaitable[T]], timeout_s: float, interval_s: float = 0.1
) -> T:
    """Poll ``predicate`` (sync or async) until it returns a truthy value or time runs out.

    Returns the last value, so the caller's assert shows what was seen.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value or loop.time() > deadline:
            return value  # type: ignore[return-value]
        await asyncio.sleep(interval_s)
