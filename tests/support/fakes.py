"""In-memory fakes of ports, for unit tests (and the contract suite)."""

from __future__ import annotations

import time
from typing import Any

from services.gateway.domain.checkpoint import Checkpoint, TokenGrant
from shared.redaction.model import Entity, Redaction, apply, merge_entities


class FakeSessionStore:
    """The Redis store's rules in memory; ``instance`` is the process that writes (as there)."""

    def __init__(self, instance: str = "fake") -> None:
        self.items: dict[str, tuple[Checkpoint, float]] = {}
        self.writers: dict[str, str] = {}  # session id -> instance that wrote it
        self.beats: dict[str, tuple[str, float]] = {}  # gateway id -> (instance, expiry)
        # The sweep's index: session id -> when last written or looked at (wall clock).
        self.index: dict[str, float] = {}
        self.saved_at: dict[str, float] = {}  # session id -> its last write (wall clock)
        self.instance = instance

    async def beat(self, gateway_id: str, ttl_s: int) -> None:
        self.beats[gateway_id] = (self.instance, time.monotonic() + ttl_s)

    def _orphaned(self, found: Checkpoint) -> bool:
        writer = self.writers.get(found.session_id, self.instance)
        beating, until = self.beats.get(found.gateway_id, ("", 0.0))
        alive = beating == writer and until >= time.monotonic()
        return writer != self.instance and not alive

    def sibling(self, instance: str) -> FakeSessionStore:
        """Another gateway process's store over the same state."""
        other = FakeSessionStore(instance)
        other.items, other.writers, other.beats = self.items, self.writers, self.beats
        other.index, other.saved_at = self.index, self.saved_at
        return other

    def _live(self, session_id: str) -> Checkpoint | None:
        item = self.items.get(session_id)
        if item is None or item[1] < time.monotonic():
            self.items.pop(session_id, None)
            return None
        return item[0]

    async def save(self, checkpoint: Checkpoint, ttl_s: int) -> None:
        self.writers[checkpoint.session_id] = self.instance
        now = time.time()
        self.index[checkpoint.session_id] = self.saved_at[checkpoint.session_id] = now
        self.items[checkpoint.session_id] = (
            checkpoint.model_copy(deep=True),
            time.monotonic() + ttl_s,
        )

    async def load(self, session_id: str) -> Checkpoint | None:
        found = self._live(session_id)
        return found.model_copy(deep=True) if found else None

    async def claim(self, session_id: str, gateway_id: str) -> Checkpoint | None:
        found = self._live(session_id)
        if found is None or (found.state != "dropped" and not self._orphaned(found)):
            return None
        claimed = found.model_copy(update={"state": "live", "gateway_id": gateway_id}, deep=True)
        await self.save(claimed, claimed.max_session_s)
        return claimed

    async def release(self, session_id: str) -> Checkpoint | None:
        found = self._live(session_id)
        if found is None or found.state != "dropped":
            return None
        del self.items[session_id]
        self.index.pop(session_id, None)
        return found

    async def delete(self, session_id: str) -> None:
        self.items.pop(session_id, None)
        self.index.pop(session_id, None)

    async def due(self, window_s: float, limit: int, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        ordered = sorted(self.index.items(), key=lambda item: item[1])
        return [sid for sid, seen in ordered if seen <= now - window_s][:limit]

    async def adopt(
        self, session_id: str, *, window_s: float, ttl_s: int, now: float | None = None
    ) -> tuple[str, Checkpoint | None]:
        now = time.time() if now is None else now
        found = self._live(session_id)
        if found is None:
            self.index.pop(session_id, None)
            return "gone", None
        if not self._orphaned(found):
            self.index[session_id] = now
            return "alive", None
        if found.state == "live":
            self.items[session_id] = (
                found.model_copy(update={"state": "dropped"}),
                time.monotonic() + ttl_s,
            )
            self.index[session_id] = self.saved_at[session_id] = now
            return "orphaned", None
        if now - self.saved_at.get(session_id, 0.0) < window_s:
            return "waiting", None
        del self.items[session_id]
        self.index.pop(session_id, None)
        return "ended", found.model_copy(deep=True)


class FakeTokenStore:
    def __init__(self) -> None:
        self.items: dict[str, tuple[TokenGrant, float]] = {}

    async def issue(self, token: str, grant: TokenGrant, ttl_s: int) -> None:
        self.items[token] = (grant, time.monotonic() + ttl_s)

    async def redeem(self, token: str) -> TokenGrant | None:
        item = self.items.pop(token, None)
        if item is None or item[1] < time.monotonic():
            return None
        return item[0]


class FakeRedactor:
    """A ``Redactor`` for unit tests: replaces the secrets it is given, remembers its calls."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets  # secret text -> entity type
        self.calls: list[tuple[str, str | None]] = []

    def redact(self, text: str, *, previous: str | None = None) -> Redaction:
        self.calls.append((text, previous))
        found = []
        for secret, kind in self.secrets.items():
            start = text.find(secret)
            while start >= 0:
                found.append(Entity(kind, start, start + len(secret)))
                start = text.find(secret, start + 1)
        return apply(text, merge_entities(found))

    def redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value).text
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        return value
