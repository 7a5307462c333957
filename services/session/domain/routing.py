"""Who gets which waiting call: the human-agent queue's rules (pure; the clock is passed in).

Calls wait in queues (skills); agents hold queues. The waiting call with the highest priority,
then the longest wait, is offered to the available agent who holds its queue and has been idle
longest. An agent has at most one offer at a time. An offer that is declined or not accepted in
the line's ``offer_timeout_s`` goes to the next agent; the agent who let it pass is not offered
the same call again for that long (a lone agent does get it back). An agent who lets two offers
in a row time out is set unavailable. A call still waiting after the line's ``max_wait_s`` is
given up (the I/O layer offers a callback and ends the call politely).

A call may name one agent (``target_agent``: a supervisor taking it over). It is offered to that
agent alone, before any other call, as soon as they are signed in with no offer and no call
(their availability is not asked: they asked for the call). If they are not signed in, decline,
let the offer time out, sign out or set themselves unavailable, the takeover fails: a call that
came in by the takeover goes back to the AI (``TakeoverFailed``), one that was already waiting
for its queue goes on waiting for it.

Every method returns the decisions the I/O layer carries out; nothing here sends or sleeps.
Times are monotonic seconds (``now``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from services.session.domain.routing_decisions import (
    AgentSetUnavailable,
    AssignCall,
    CallFinished,
    Decision,
    GiveUp,
    Offer,
    OfferCall,
    TakeoverFailed,
    WithdrawOffer,
)

__all__ = [
    "AgentSetUnavailable",
    "AssignCall",
    "CallFinished",
    "Decision",
    "GiveUp",
    "Offer",
    "OfferCall",
    "QueueRouter",
    "RoutingLimits",
    "TakeoverFailed",
    "WaitingCall",
    "WithdrawOffer",
]

# Remembered ids of calls that left the queue, so a redelivered escalation does not bring a
# finished call back; the oldest are forgotten beyond this many.
MAX_FINISHED_REMEMBERED = 2_000


@dataclass(frozen=True)
class RoutingLimits:
    # Beyond this many waiting calls a new one is given up at once (reason ``queue_full``): the
    # caller hears the no-agent goodbye and gets a callback rather than an unbounded wait.
    max_waiting_calls: int = 500
    # Beyond this many signed-in agents a new sign-in is refused (the desk closes it, 1013).
    max_agents: int = 200
    # An accepted call whose bridge has not opened in this long goes back to the queue (the
    # bridge token's life, shared/bridge_tokens.py).
    bridge_timeout_s: float = 60.0
    # Offers an agent may let time out in a row before they are set unavailable.
    max_missed_offers: int = 2


@dataclass
class WaitingCall:
    call_id: str
    line_id: str
    queue: str
    priority: int
    enqueued_at: float
    max_wait_s: float
    offer_timeout_s: float
    reasons: tuple[str, ...] = ()
    evidence: tuple[dict[str, Any], ...] = ()
    # Where the agent's browser bridges in (the call's gateway, from call.started).
    gateway_url: str = ""
    offer: Offer | None = None
    # Agents who declined or let the offer time out, with when: not re-offered until later.
    passed_by: dict[str, float] = field(default_factory=dict)
    # The one agent this call is offered to (a takeover), and whether it came in by the takeover
    # (so a failed takeover gives it back to the AI rather than to its queue).
    target_agent: str | None = None
    from_takeover: bool = False


@dataclass
class AgentState:
    agent_id: str
    queues: frozenset[str]
    available: bool = False
    idle_since: float = 0.0
    offer: Offer | None = None
    call_id: str | None = None
    missed_in_row: int = 0

    @property
    def idle(self) -> bool:
        """No offer and no call: a takeover may be offered (availability is not asked)."""
        return self.offer is None and self.call_id is None

    @property
    def free(self) -> bool:
        """Idle and available: queue calls may be offered."""
        return self.available and self.idle


@dataclass
class Assignment:
    call: WaitingCall
    agent_id: str
    assigned_at: float
    bridged: bool = False


class QueueRouter:
    """The waiting calls, the signed-in agents and the offers between them."""

    def __init__(self, limits: RoutingLimits | None = None) -> None:
        self.limits = limits or RoutingLimits()
        self.waiting: dict[str, WaitingCall] = {}
        self.agents: dict[str, AgentState] = {}
        self.assigned: dict[str, Assignment] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._offers = 0

    # Calls ----------------------------------------------------------------------------------

    def enqueue(self, call: WaitingCall, now: float) -> list[Decision]:
        """Add a waiting call (a repeated one is ignored) and route."""
        if (
            call.call_id in self.waiting
            or call.call_id in self.assigned
            or call.call_id in self._finished
        ):
            return []
        if len(self.waiting) >= self.limits.max_waiting_calls:
            self._finish(call.call_id)
            return [GiveUp(call.call_id, call.line_id, call.queue, "queue_full")]
        self.waiting[call.call_id] = call
        return self.route(now)

    def take_over(self, call: WaitingCall, agent_id: str, now: float) -> list[Decision]:
        """Offer ``call`` to ``agent_id`` alone (see the module docstring); a call that is with
        a person already or finished is left alone."""
        if call.call_id in self.assigned or call.call_id in self._finished:
            return []
        waiting = self.waiting.get(call.call_id)
        if agent_id not in self.agents:
            failed = TakeoverFailed(
                call.call_id, call.line_id, agent_id, "agent_unavailable", waiting is None
            )
            return [failed]
        if waiting is None:
            if len(self.waiting) >= self.limits.max_waiting_calls:
                return [TakeoverFailed(call.call_id, call.line_id, agent_id, "queue_full")]
            waiting = self.waiting[call.call_id] = call
            waiting.from_takeover = True
        decisions: list[Decision] = []
        if waiting.offer is not None and waiting.offer.agent_id != agent_id:
            decisions.append(self._withdraw(waiting, "taken_over", now))
        waiting.target_agent = agent_id
        return decisions + self.route(now)

    def caller_left(self, call_id: str, now: float) -> list[Decision]:
        """The caller hung up: out of the queue, any offer withdrawn, the agent freed."""
        decisions: list[Decision] = []
        call = self.waiting.pop(call_id, None)
        if call is not None and call.offer is not None:
            decisions.append(self._withdraw(call, "caller_left", now))
        assignment = self.assigned.pop(call_id, None)
        if assignment is not None:
            self._free_agent(assignment.agent_id, now)
            decisions.append(CallFinished(call_id, assignment.agent_id, "caller_left"))
        self._finish(call_id)
        return decisions + self.route(now)

    def bridged(self, call_id: str) -> None:
        """The agent's bridge opened (handoff.completed): the assignment stands."""
        assignment = self.assigned.get(call_id)
        if assignment is not None:
            assignment.bridged = True

    # Agents ---------------------------------------------------------------------------------

    def connect(self, agent_id: str, queues: frozenset[str], now: float) -> bool:
        """Sign an agent in (unavailable until they say so); False at the agent bound."""
        if agent_id in self.agents:
            return True
        if len(self.agents) >= self.limits.max_agents:
            return False
        self.agents[agent_id] = AgentState(agent_id, queues, idle_since=now)
        return True

    def disconnect(self, agent_id: str, now: float) -> list[Decision]:
        """The agent's desk went away: their offer goes to someone else.

        A call they already accepted stays with them (the bridge is the gateway's business);
        the router forgets the assignment."""
        agent = self.agents.pop(agent_id, None)
        if agent is None:
            return []
        decisions: list[Decision] = []
        if agent.offer is not None:
            call = self.waiting.get(agent.offer.call_id)
            if call is not None:
                call.offer = None
            decisions.append(WithdrawOffer(agent.offer, "agent_disconnected"))
        if agent.call_id is not None:
            self.assigned.pop(agent.call_id, None)
            self._finish(agent.call_id)
        for call in [c for c in self.waiting.values() if c.target_agent == agent_id]:
            decisions.extend(self._takeover_refused(call, "agent_unavailable"))
        return decisions + self.route(now)

    def set_available(self, agent_id: str, available: bool, now: float) -> list[Decision]:
        agent = self.agents.get(agent_id)
        if agent is None or agent.available == available:
            return []
        agent.available = available
        decisions: list[Decision] = []
        if available:
            agent.missed_in_row = 0
            agent.idle_since = now
        elif agent.offer is not None:
            call = self.waiting[agent.offer.call_id]
            decisions.append(self._withdraw(call, "agent_unavailable", now))
        if not available:
            for call in [c for c in self.waiting.values() if c.target_agent == agent_id]:
                decisions.extend(self._takeover_refused(call, "agent_unavailable"))
        return decisions + self.route(now)

    def accept(self, agent_id: str, offer_id: str, now: float) -> list[Decision]:
        """The agent takes the call; an unknown, stale or someone else's offer changes nothing."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.offer is None or agent.offer.offer_id != offer_id:
            return []
        call = self.waiting.pop(agent.offer.call_id)
        call.offer = None
        agent.offer = None
        agent.call_id = call.call_id
        agent.missed_in_row = 0
        self.assigned[call.call_id] = Assignment(call, agent_id, now)
        return [AssignCall(call.call_id, call.line_id, call.queue, agent_id, call.gateway_url)]

    def decline(self, agent_id: str, offer_id: str, now: float) -> list[Decision]:
        agent = self.agents.get(agent_id)
        if agent is None or agent.offer is None or agent.offer.offer_id != offer_id:
            return []
        call = self.waiting[agent.offer.call_id]
        self._withdraw(call, "declined", now)
        agent.missed_in_row = 0
        refused = self._takeover_refused(call, "declined") if call.target_agent else []
        return refused + self.route(now)

    def end_call(self, agent_id: str, call_id: str, now: float) -> list[Decision]:
        """The agent is done with their call (the gateway ends it on their word)."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.call_id != call_id:
            return []
        self.assigned.pop(call_id, None)
        self._finish(call_id)
        self._free_agent(agent_id, now)
        return self.route(now)

    def requeue(self, call_id: str, now: float) -> list[Decision]:
        """An accepted call whose bridge could not be set up goes back to the queue."""
        assignment = self.assigned.pop(call_id, None)
        if assignment is None:
            return []
        assignment.call.passed_by[assignment.agent_id] = now
        self.waiting[call_id] = assignment.call
        self._free_agent(assignment.agent_id, now)
        return self.route(now)

    # Time -----------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Decision]:
        """Expire offers, give up calls past their wait, reclaim unbridged calls, route."""
        decisions: list[Decision] = []
        for call in list(self.waiting.values()):
            if now - call.enqueued_at >= call.max_wait_s:
                if call.offer is not None:
                    decisions.append(self._withdraw(call, "given_up", now))
                if call.from_takeover:  # back to the AI, not a goodbye
                    decisions.extend(self._takeover_refused(call, "no_agent_available"))
                    continue
                del self.waiting[call.call_id]
                self._finish(call.call_id)
                decisions.append(
                    GiveUp(call.call_id, call.line_id, call.queue, "no_agent_available")
                )
            elif call.offer is not None and now >= call.offer.expires_at:
                agent = self.agents.get(call.offer.agent_id)
                decisions.append(self._withdraw(call, "timeout", now))
                if call.target_agent is not None:
                    decisions.extend(self._takeover_refused(call, "offer_timeout"))
                elif agent is not None:
                    agent.missed_in_row += 1
                    if agent.missed_in_row >= self.limits.max_missed_offers:
                        agent.available = False
                        decisions.append(AgentSetUnavailable(agent.agent_id))
        for call_id, assignment in list(self.assigned.items()):
            if not assignment.bridged and now - assignment.assigned_at >= (
                self.limits.bridge_timeout_s
            ):
                decisions.append(CallFinished(call_id, assignment.agent_id, "bridge_timeout"))
                decisions.extend(self.requeue(call_id, now))
        return decisions + self.route(now)

    def route(self, now: float) -> list[Decision]:
        """Offer each waiting call without an offer, best first, to the best free agent."""
        decisions: list[Decision] = []
        # Only idle agents matter: with none, routing costs one pass over the agents.
        free = [a for a in self.agents.values() if a.idle]
        if not free:
            return decisions
        # Calls for one agent (takeovers) first, then by priority and wait.
        pending = sorted(
            (c for c in self.waiting.values() if c.offer is None),
            key=lambda c: (c.target_agent is None, -c.priority, c.enqueued_at, c.call_id),
        )
        for call in pending:
            if not free:
                break
            agent = self._best_agent_for(call, free, now)
            if agent is None:
                continue
            free.remove(agent)
            self._offers += 1
            offer = Offer(
                f"ofr_{self._offers}",
                call.call_id,
                agent.agent_id,
                now,
                now + call.offer_timeout_s,
            )
            call.offer = offer
            agent.offer = offer
            decisions.append(
                OfferCall(
                    offer,
                    call.queue,
                    call.line_id,
                    call.priority,
                    max(0.0, now - call.enqueued_at),
                    call.reasons,
                    call.evidence,
                )
            )
        return decisions

    def offer_is_current(self, offer_id: str) -> bool:
        return any(
            a.offer is not None and a.offer.offer_id == offer_id for a in self.agents.values()
        )

    # Internals ------------------------------------------------------------------------------

    def _best_agent_for(
        self, call: WaitingCall, free: list[AgentState], now: float
    ) -> AgentState | None:
        if call.target_agent is not None:
            return next((a for a in free if a.agent_id == call.target_agent), None)
        candidates = [
            a
            for a in free
            if a.free
            and call.queue in a.queues
            and now - call.passed_by.get(a.agent_id, float("-inf")) >= call.offer_timeout_s
        ]
        return min(candidates, key=lambda a: (a.idle_since, a.agent_id), default=None)

    def _withdraw(self, call: WaitingCall, reason: str, now: float) -> WithdrawOffer:
        offer = call.offer
        assert offer is not None
        call.offer = None
        agent = self.agents.get(offer.agent_id)
        if agent is not None and agent.offer == offer:
            agent.offer = None
        if reason in ("timeout", "declined"):
            # Passed on it: not offered this call again for a while, and to the back of the line.
            call.passed_by[offer.agent_id] = now
            if agent is not None:
                agent.idle_since = now
        return WithdrawOffer(offer, reason)

    def _takeover_refused(self, call: WaitingCall, reason: str) -> list[Decision]:
        """The call's takeover failed: back to the AI, or to its queue (module docstring)."""
        agent_id, call.target_agent = call.target_agent or "", None
        if not call.from_takeover:
            return [TakeoverFailed(call.call_id, call.line_id, agent_id, reason, resume_ai=False)]
        del self.waiting[call.call_id]
        return [TakeoverFailed(call.call_id, call.line_id, agent_id, reason)]

    def _free_agent(self, agent_id: str, now: float) -> None:
        agent = self.agents.get(agent_id)
        if agent is not None:
            agent.call_id = None
            agent.idle_since = now

    def _finish(self, call_id: str) -> None:
        self._finished[call_id] = None
        self._finished.move_to_end(call_id)
        while len(self._finished) > MAX_FINISHED_REMEMBERED:
            self._finished.popitem(last=False)
