"""One signed-in agent desk as the handoff desk sees it: a bounded outbox of messages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from services.session.domain.agents import AgentConfig

log = logging.getLogger(__name__)

# Messages waiting to be written to one desk; a desk that falls this far behind is closed
# (1008 ``too_slow``) rather than buffered without bound, and its offer goes to the next agent.
DESK_OUTBOX = 64


class DeskConnection:
    """One signed-in desk: a bounded outbox that the socket's writer drains."""

    def __init__(self, agent: AgentConfig) -> None:
        self.agent = agent
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(DESK_OUTBOX)
        self.close_code = 1000
        self.close_reason = ""
        self.closing = False

    def send(self, message: dict[str, Any]) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("desk too slow: closing it", extra={"agent_id": self.agent.agent_id})
            self.close(1008, "too_slow")

    def close(self, code: int, reason: str) -> None:
        """Ask the writer to stop after what is queued; the socket closes with ``code``."""
        if self.closing:
            return
        self.closing, self.close_code, self.close_reason = True, code, reason
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)
        if self.outbox.full():  # no room for the sentinel: drop the backlog for it
            while not self.outbox.empty():
                self.outbox.get_nowait()
            self.outbox.put_nowait(None)
