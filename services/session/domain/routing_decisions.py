"""What the routing domain decides (``domain/routing.py``): the I/O layer carries these out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Offer:
    offer_id: str
    call_id: str
    agent_id: str
    offered_at: float
    expires_at: float


@dataclass(frozen=True)
class OfferCall:
    """Show this call to this agent (offer.expires_at bounds it)."""

    offer: Offer
    queue: str
    line_id: str
    priority: int
    waited_s: float
    reasons: tuple[str, ...]
    evidence: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class WithdrawOffer:
    """Take the offer back from the agent's screen."""

    offer: Offer
    reason: str  # timeout | declined | caller_left | given_up | agent_unavailable | taken_over


@dataclass(frozen=True)
class AssignCall:
    """The agent accepted: issue the bridge token, tell the agent, publish the assignment."""

    call_id: str
    line_id: str
    queue: str
    agent_id: str
    gateway_url: str = ""


@dataclass(frozen=True)
class GiveUp:
    """Nobody took the call in time (or the queue is full): callback, goodbye, handoff.failed."""

    call_id: str
    line_id: str
    queue: str
    reason: str  # no_agent_available | queue_full


@dataclass(frozen=True)
class AgentSetUnavailable:
    """The agent missed too many offers in a row; their desk shows them unavailable."""

    agent_id: str


@dataclass(frozen=True)
class CallFinished:
    """An assigned call is over for the agent (caller hung up, or the bridge never opened)."""

    call_id: str
    agent_id: str
    reason: str  # caller_left | bridge_timeout


@dataclass(frozen=True)
class TakeoverFailed:
    """A takeover did not reach its agent. ``resume_ai``: the call came in by the takeover, so
    the AI takes it back (``handoff.failed`` and ``resume_agent``); otherwise it still waits for
    its queue and nothing is sent."""

    call_id: str
    line_id: str
    agent_id: str
    reason: str  # agent_unavailable | declined | offer_timeout | no_agent_available | queue_full
    resume_ai: bool = True


Decision = (
    OfferCall
    | WithdrawOffer
    | AssignCall
    | GiveUp
    | AgentSetUnavailable
    | CallFinished
    | TakeoverFailed
)
