"""In-memory fakes of ports, for unit tests (and the contract suite)."""

from __future__ import annotations

import time
from typing import Any

from services.gateway.domain.checkpoint import Checkpoint, TokenGrant
from shared.redaction.model import Entity, Redaction, apply, merge_entities


class FakeSessionStore:
    def __init__(self) -> None:
        self.items: dict[str, tuple[Checkpoint, float]] = {}

    def _live(self, session_id: str) -> Checkpoint | None:
        item = self.items.get(session_id)
        if item is None or item[1] < time.monotonic():
            self.items.pop(session_id, None)
            return None
        return item[0]

    async def save(self, checkpoint: Checkpoint, ttl_s: int) -> None:
        self.items[checkpoint.session_id] = (
            checkpoint.model_copy(deep=True),
            time.monotonic() + ttl_s,
        )

    async def load(self, session_id: str) -> Checkpoint | None:
        found = self._live(session_id)
        return found.model_copy(deep=True) if found else None

    async def claim(self, session_id: str, gateway_id: str) -> Checkpoint | None:
        found = self._live(session_id)
        if found is None or found.state != "dropped":
            return None
        claimed = found.model_copy(update={"state": "live", "gateway_id": gateway_id}, deep=True)
        await self.save(claimed, claimed.max_session_s)
        return claimed

    async def release(self, session_id: str) -> Checkpoint | None:
        found = self._live(session_id)
        if found is None or found.state != "dropped":
            return None
        del self.items[session_id]
        return found

    async def delete(self, session_id: str) -> None:
        self.items.pop(session_id, None)


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
