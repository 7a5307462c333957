"""The gateway's ports."""

from __future__ import annotations

from typing import Any, Protocol

from services.gateway.dialogue.agent import AgentTool, ToolOutcome
from services.gateway.domain.checkpoint import Checkpoint, TokenGrant
from services.gateway.domain.twilio import PhoneCallGrant
from shared.bridge_tokens import BridgeGrant
from shared.events import Envelope


class EventPublisher(Protocol):
    """Publishes call events without blocking the caller (audio path)."""

    def publish(self, topic: str, event: Envelope) -> bool:
        """Buffer ``event`` for ``topic``; False when it had to be dropped at the bound."""
        ...


class SessionStore(Protocol):
    """Resumable session state outside the process, so any gateway can resume a call."""

    async def save(self, checkpoint: Checkpoint, ttl_s: int) -> None: ...

    async def load(self, session_id: str) -> Checkpoint | None: ...

    async def beat(self, gateway_id: str, ttl_s: int) -> None:
        """``gateway_id`` is alive for ``ttl_s`` more seconds (its heartbeat)."""
        ...

    async def claim(self, session_id: str, gateway_id: str) -> Checkpoint | None:
        """Atomically turn a dropped checkpoint live for ``gateway_id``; None if not dropped.

        A live checkpoint whose gateway's heartbeat lapsed (the process died without marking
        its calls dropped) is claimed too."""
        ...

    async def release(self, session_id: str) -> Checkpoint | None:
        """Delete a checkpoint that is still dropped (its window passed); None otherwise."""
        ...

    async def delete(self, session_id: str) -> None: ...

    async def due(self, window_s: float, limit: int, now: float | None = None) -> list[str]:
        """Up to ``limit`` session ids not written or looked at for ``window_s`` (oldest first):
        what the orphan sweep looks at next."""
        ...

    async def adopt(
        self, session_id: str, *, window_s: float, ttl_s: int, now: float | None = None
    ) -> tuple[str, Checkpoint | None]:
        """One atomic step of the orphan sweep on one checkpoint whose writer may be dead.

        Writer alive (or this process): ``"alive"`` (looked at again a window later). Writer
        gone and the call live: marked dropped now, ``"orphaned"`` (any gateway may resume it
        for a window). Writer gone and dropped for ``window_s``: deleted, ``("ended",
        checkpoint)``: the caller, and no one else, publishes its ``call.ended``. Else
        ``"gone"``, ``"moved"`` or ``"waiting"``, and None."""
        ...


class TokenStore(Protocol):
    """Single-use temporary tokens."""

    async def issue(self, token: str, grant: TokenGrant, ttl_s: int) -> None: ...

    async def redeem(self, token: str) -> TokenGrant | None:
        """The token's grant, removing it (a second redeem gets None)."""
        ...


class PhoneGrantStore(Protocol):
    """Single-use per-call secrets that let one Twilio media stream into one answered call."""

    async def issue(self, token: str, grant: PhoneCallGrant, ttl_s: int) -> None: ...

    async def redeem(self, token: str) -> PhoneCallGrant | None: ...


class CallTransfer(Protocol):
    """Moves a live phone call elsewhere (Twilio's REST API, ``<Dial>``)."""

    async def redirect(self, *, account_sid: str, call_sid: str, twiml: str) -> None:
        """Raises ``TransferFailed`` (with a short reason code) when it could not."""
        ...


class BridgeTokenStore(Protocol):
    """Single-use tokens that let a human agent bridge into one call's audio."""

    async def redeem(self, token: str) -> BridgeGrant | None:
        """The token's grant, removing it; None when unknown, expired or used."""
        ...


class ToolClient(Protocol):
    """Runs a server tool where it lives (the tools service) and returns by its deadline."""

    async def run(
        self,
        *,
        session_id: str,
        line_id: str,
        tool_call_id: str,
        tool: AgentTool,
        arguments: dict[str, Any],
    ) -> ToolOutcome: ...
