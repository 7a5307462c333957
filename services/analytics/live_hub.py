"""The live dashboard's hub: one ``LiveBoard`` per process, pushed to every dashboard client.

One task batches the board's changes (a ``calls`` message at most every 250 ms), one refreshes
the KPIs (every 5 s, once per process however many clients watch); alerts go out at once. Each
message is encoded once and queued to every client.

Bounds:
- ``max_clients`` (200) dashboard connections; the next one is closed 1013.
- each client's send queue holds ``queue_size`` (256) messages. A client whose queue is full
  has fallen behind: its queue is replaced by one fresh snapshot (and its watched call's
  timeline), which says everything the dropped messages said.
- a send that does not complete in ``send_timeout_s`` (10 s): the client is stuck and is closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from services.analytics.domain.live_board import Changes, LiveBoard
from services.analytics.domain.live_kpis import KpiInputs, kpis, window_start
from services.analytics.ports import LiveQueries
from shared.events import Envelope

log = logging.getLogger(__name__)

MAX_CLIENTS = 200
QUEUE_SIZE = 256
BATCH_S = 0.25
KPI_EVERY_S = 5.0
SEND_TIMEOUT_S = 10.0


class ClientStuckError(Exception):
    """A client did not take a message within the send timeout."""


class LiveClient:
    """One signed-in dashboard: its send queue and the call it watches."""

    def __init__(self, hub: LiveHub, send: Callable[[str], Awaitable[None]]) -> None:
        self._hub = hub
        self._send = send
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=hub.queue_size)
        self.watching: str | None = None
        self.resyncs = 0

    def offer(self, message: str) -> None:
        """Queue a message; a full queue means the client fell behind: resynchronise it."""
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.resync()

    def resync(self) -> None:
        """Replace everything queued with one fresh snapshot (and the watched call's timeline)."""
        self.resyncs += 1
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(self._hub.snapshot())
        if self.watching is not None:
            self.queue.put_nowait(self._hub.call_message(self.watching))

    def watch(self, call_id: str | None) -> None:
        self.watching = call_id
        if call_id is not None:
            self.offer(self._hub.call_message(call_id))

    async def pump(self) -> None:
        """Send queued messages until cancelled; ``ClientStuckError`` when a send hangs."""
        while True:
            message = await self.queue.get()
            try:
                await asyncio.wait_for(self._send(message), self._hub.send_timeout_s)
            except TimeoutError as exc:
                raise ClientStuckError from exc


class LiveHub:
    """The board, its clients, and the tasks that push the board to them."""

    def __init__(
        self,
        board: LiveBoard,
        queries: LiveQueries,
        *,
        max_clients: int = MAX_CLIENTS,
        queue_size: int = QUEUE_SIZE,
        send_timeout_s: float = SEND_TIMEOUT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self._queries = queries
        self.max_clients = max_clients
        self.queue_size = queue_size
        self.send_timeout_s = send_timeout_s
        self._clock = clock
        self._connections = 0
        self.clients: set[LiveClient] = set()
        self._inputs = KpiInputs()
        self.kpis = kpis(self._inputs, now=datetime.now(UTC), active_calls=0)

    # -- connections ---------------------------------------------------------------------------

    def reserve(self) -> bool:
        """Count a new connection in; False (refuse it) at ``max_clients``."""
        if self._connections >= self.max_clients:
            return False
        self._connections += 1
        return True

    def release(self) -> None:
        self._connections -= 1

    def join(self, send: Callable[[str], Awaitable[None]]) -> LiveClient:
        client = LiveClient(self, send)
        client.offer(self.snapshot())
        self.clients.add(client)
        return client

    def leave(self, client: LiveClient) -> None:
        self.clients.discard(client)

    # -- messages ------------------------------------------------------------------------------

    def snapshot(self) -> str:
        return _encode(
            {
                "type": "snapshot",
                "server_time": datetime.now(UTC).isoformat(),
                "calls": self.board.rows(),
                "alerts": self.board.alerts(),
                "kpis": self.kpis,
            }
        )

    def call_message(self, call_id: str) -> str:
        return _encode(
            {"type": "call", "call": self.board.row(call_id), "items": self.board.items(call_id)}
        )

    def _broadcast(self, message: dict[str, Any]) -> None:
        if not self.clients:
            return
        encoded = _encode(message)
        for client in list(self.clients):
            client.offer(encoded)

    # -- input ---------------------------------------------------------------------------------

    def apply(self, events: list[tuple[Envelope, dict[str, Any]]]) -> None:
        """Apply redacted events to the board; their alerts go out at once."""
        for envelope, payload in events:
            for alert in self.board.apply(envelope, payload, now=self._clock()):
                self._broadcast({"type": "alert", "alert": alert})

    def flush(self) -> Changes:
        """Send what changed since the last flush: one ``calls`` message, watched timelines."""
        self.board.expire(self._clock())
        changes = self.board.drain()
        if changes.upserts or changes.removed:
            self._broadcast(
                {"type": "calls", "upserts": changes.upserts, "removed": changes.removed}
            )
        for call_id, items in changes.items.items():
            watchers = [c for c in self.clients if c.watching == call_id]
            if watchers:
                encoded = _encode({"type": "items", "call_id": call_id, "items": items})
                for client in watchers:
                    client.offer(encoded)
        return changes

    async def refresh_kpis(self) -> None:
        """Recompute the KPIs (the last figures stay when the database does not answer)."""
        now = datetime.now(UTC)
        try:
            self._inputs = await asyncio.wait_for(
                self._queries.kpi_inputs(window_start(now)), KPI_EVERY_S
            )
        except Exception:
            log.warning("live KPIs not refreshed", exc_info=True)
        self.kpis = kpis(self._inputs, now=now, active_calls=self.board.active_calls)
        self._broadcast({"type": "kpis", "kpis": self.kpis})

    # -- tasks ---------------------------------------------------------------------------------

    async def run_batches(self) -> None:
        while True:
            try:
                self.flush()
            except Exception:
                log.warning("live batch not sent", exc_info=True)  # a bug: the next tick retries
            await asyncio.sleep(BATCH_S)

    async def run_kpis(self) -> None:
        while True:
            await self.refresh_kpis()
            await asyncio.sleep(KPI_EVERY_S)

    async def bootstrap(self, since: datetime) -> int:
        """Load the calls still open from the call log; how many events it applied."""
        events = await self._queries.open_calls(since, limit=self.board.max_calls)
        self.apply(events)
        self.board.drain()  # nothing is connected yet: start clean
        return len(events)


def _encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), default=str)
