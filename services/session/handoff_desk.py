"""The handoff desk: carries out the routing domain's decisions (desks, Redis, Kafka).

The integrator feeds it from the call-event consumer (``enqueue`` on ``escalation.requested``,
``caller_left`` on ``call.ended``, ``bridged`` on ``handoff.completed``); the desk WebSocket
(entrypoints/desk.py) signs agents in and passes their messages to ``handle``. One owned task
ticks the router (offer timeouts, maximum waits, unopened bridges). Everything runs on one event
loop and the router is only touched synchronously, so it needs no lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from services.session.desk_connection import DeskConnection
from services.session.domain.agents import AgentConfig, AgentDirectory
from services.session.domain.registry import LiveSession
from services.session.domain.routing import (
    AgentSetUnavailable,
    AssignCall,
    CallFinished,
    Decision,
    GiveUp,
    OfferCall,
    QueueRouter,
    RoutingLimits,
    TakeoverFailed,
    WaitingCall,
    WithdrawOffer,
)
from services.session.ports import CallContext, Clock, Publisher, SessionRegistry
from shared.bridge_tokens import BridgeGrant, issue_bridge_token
from shared.events import (
    Envelope,
    EscalationAssigned,
    EscalationRequested,
    EventPayload,
    Handoff,
    HandoffFailed,
    Hangup,
    ResumeAgent,
    ToolExecute,
    new_event,
)
from shared.lines.model import HandoffSettings, SupportLine
from shared.telemetry.metrics import HANDOFFS

log = logging.getLogger(__name__)

# How long the routing loop may sleep between ticks (offer timeouts are this precise).
TICK_S = 0.25
# The context of an offer (summary, transcript) must come quickly; past this it is left out.
CONTEXT_TIMEOUT_S = 2.0
# An offer shows at most this much of the (redacted) conversation.
MAX_TRANSCRIPT_LINES = 40
MAX_TEXT_CHARS = 2_000
# How long the tools service has to open the callback ticket.
CALLBACK_DEADLINE_S = 30.0
ISSUER = "session:handoff-desk"
# A takeover is a supervisor's own request: it outranks every rule's priority.
TAKEOVER_PRIORITY = 100
TAKEOVER_REASON = "taken over by a supervisor"


@dataclass(frozen=True)
class DeskTopics:
    """Topic names as published (the integrator applies the deployment's prefix)."""

    call_events: str = "cc.call-events.v1"
    call_control: str = "cc.call-control.v1"
    tool_requests: str = "cc.tool-requests.v1"


class HandoffDesk:
    def __init__(
        self,
        *,
        agents: AgentDirectory,
        redis: Redis,
        publisher: Publisher,
        context: CallContext,
        clock: Clock,
        lines: Mapping[str, SupportLine],
        source: str,
        redis_prefix: str = "",
        registry: SessionRegistry | None = None,
        topics: DeskTopics | None = None,
        limits: RoutingLimits | None = None,
        tick_s: float = TICK_S,
    ) -> None:
        self.agents = agents
        self.router = QueueRouter(limits)
        self._redis = redis
        self._publisher = publisher
        self._context = context
        self._clock = clock
        # Replace it when the line files reload (as ``SessionDeps.lines`` is).
        self.lines = lines
        self._registry = registry
        self._source = source
        self._prefix = redis_prefix
        self._topics = topics or DeskTopics()
        self._tick_s = tick_s
        self._connections: dict[str, DeskConnection] = {}
        self._task: asyncio.Task[None] | None = None

    # Life -------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._routing_loop(), name="desk-routing")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for connection in list(self._connections.values()):
            connection.close(1001, "shutting_down")

    async def _routing_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                await self.tick()
            except Exception:
                log.exception("desk routing tick failed")

    async def tick(self) -> None:
        await self._carry_out(self.router.tick(self._clock.monotonic()))

    # From the call-event consumer -------------------------------------------------------------

    async def enqueue(
        self,
        envelope: Envelope,
        escalation: EscalationRequested,
        *,
        gateway_url: str | None = None,
    ) -> None:
        """An escalated call starts waiting for a person (a repeated one is ignored).

        ``gateway_url`` is the call's gateway (``call.started`` attributes); without it, it is
        read from the live session registry."""
        if gateway_url is None:
            gateway_url = await self._gateway_url_of(envelope.call_id)
        line = self.lines.get(envelope.line_id)
        handoff = line.handoff if line is not None else HandoffSettings()
        queue = escalation.queue or (line.human_queue if line is not None else "general")
        now = self._clock.monotonic()
        call = WaitingCall(
            call_id=envelope.call_id,
            line_id=envelope.line_id,
            queue=queue,
            priority=escalation.priority,
            enqueued_at=now,
            max_wait_s=handoff.max_wait_s,
            offer_timeout_s=handoff.offer_timeout_s,
            reasons=tuple(escalation.reasons),
            evidence=tuple(e.model_dump(mode="json") for e in escalation.evidence),
            gateway_url=gateway_url.rstrip("/"),
        )
        if not call.gateway_url:
            # No gateway to bridge to: nobody could take the call; the caller is not kept waiting.
            log.warning("escalated call has no gateway url", extra={"call_id": call.call_id})
            self._give_up(GiveUp(call.call_id, call.line_id, queue, "no_gateway_url"))
            return
        await self._carry_out(self.router.enqueue(call, now))

    async def take_over(self, envelope: Envelope, command: Handoff) -> None:
        """A supervisor's takeover (a ``handoff`` naming ``agent_id``): the call is offered to
        that desk agent alone; if they cannot take it, the AI goes on (docs/handoff.md 4.1)."""
        if command.agent_id is None:
            return
        call_id, line_id = envelope.call_id, envelope.line_id
        session = await self._session_of(call_id)
        if session is not None and session.state == "ended":
            log.warning("takeover of a call that has ended", extra={"call_id": call_id})
            return
        if session is None or not session.gateway_url:
            # No gateway to bridge to: the caller is not kept on hold for nothing.
            failed = TakeoverFailed(call_id, line_id, command.agent_id, "no_gateway_url")
            await self._carry_out([failed])
            return
        line = self.lines.get(line_id)
        handoff = line.handoff if line is not None else HandoffSettings()
        now = self._clock.monotonic()
        call = WaitingCall(
            call_id=call_id,
            line_id=line_id,
            queue=command.queue,
            priority=TAKEOVER_PRIORITY,
            enqueued_at=now,
            max_wait_s=handoff.max_wait_s,
            offer_timeout_s=handoff.offer_timeout_s,
            reasons=(TAKEOVER_REASON,),
            gateway_url=session.gateway_url.rstrip("/"),
        )
        log.info(
            "call taken over",
            extra={
                "call_id": call_id,
                "agent_id": command.agent_id,
                "issued_by": command.issued_by,
            },
        )
        await self._carry_out(self.router.take_over(call, command.agent_id, now))

    async def _session_of(self, call_id: str) -> LiveSession | None:
        if self._registry is None:
            return None
        try:
            return await self._registry.get(call_id)
        except Exception:
            log.warning("session registry unavailable for a handoff", extra={"call_id": call_id})
            return None

    async def _gateway_url_of(self, call_id: str) -> str:
        session = await self._session_of(call_id)
        return session.gateway_url if session is not None else ""

    async def caller_left(self, call_id: str) -> None:
        await self._carry_out(self.router.caller_left(call_id, self._clock.monotonic()))

    def bridged(self, call_id: str) -> None:
        self.router.bridged(call_id)

    # From the desk WebSocket ------------------------------------------------------------------

    async def connect(self, agent: AgentConfig) -> DeskConnection | None:
        """A desk for ``agent``; a newer sign-in replaces an older one. None at the agent bound."""
        old = self._connections.pop(agent.agent_id, None)
        if old is not None:
            old.close(1000, "signed_in_elsewhere")
            await self._carry_out(self.router.disconnect(agent.agent_id, self._clock.monotonic()))
        if not self.router.connect(
            agent.agent_id, frozenset(agent.queues), self._clock.monotonic()
        ):
            return None
        connection = DeskConnection(agent)
        self._connections[agent.agent_id] = connection
        connection.send(
            {
                "type": "hello",
                "agent_id": agent.agent_id,
                "name": agent.name,
                "queues": list(agent.queues),
            }
        )
        return connection

    async def disconnect(self, connection: DeskConnection) -> None:
        agent_id = connection.agent.agent_id
        if self._connections.get(agent_id) is connection:
            del self._connections[agent_id]
            await self._carry_out(self.router.disconnect(agent_id, self._clock.monotonic()))

    async def handle(self, connection: DeskConnection, message: dict[str, Any]) -> None:
        """One message from a signed-in desk (docs/handoff.md section 4)."""
        agent_id, now = connection.agent.agent_id, self._clock.monotonic()
        kind = message.get("type")
        if kind == "status" and isinstance(message.get("available"), bool):
            available: bool = message["available"]
            decisions = self.router.set_available(agent_id, available, now)
            connection.send({"type": "status", "available": available})
            await self._carry_out(decisions)
        elif kind in ("accept", "decline") and isinstance(message.get("offer_id"), str):
            offer_id: str = message["offer_id"]
            if kind == "accept":
                decisions = self.router.accept(agent_id, offer_id, now)
            else:
                decisions = self.router.decline(agent_id, offer_id, now)
            if kind == "accept" and not decisions:
                connection.send(_error("offer_gone", "That offer is no longer open."))
            await self._carry_out(decisions)
        elif kind == "end" and isinstance(message.get("call_id"), str):
            await self._agent_ends(connection, message["call_id"], now)
        else:
            connection.send(_error("bad_message", "Unknown message type or missing field."))

    async def _agent_ends(self, connection: DeskConnection, call_id: str, now: float) -> None:
        agent_id = connection.agent.agent_id
        assignment = self.router.assigned.get(call_id)
        if assignment is None or assignment.agent_id != agent_id:
            connection.send(_error("not_your_call", "You are not on that call."))
            return
        line_id = assignment.call.line_id
        decisions = self.router.end_call(agent_id, call_id, now)
        self._publish(
            self._topics.call_control,
            Hangup(issued_by=f"desk:{agent_id}", reason="agent_ended"),
            call_id,
            line_id,
        )
        connection.send({"type": "call.ended", "call_id": call_id, "reason": "agent_ended"})
        await self._carry_out(decisions)

    # Carrying out decisions -------------------------------------------------------------------

    async def _carry_out(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, OfferCall):
                await self._offer(decision)
            elif isinstance(decision, WithdrawOffer):
                self._send(
                    decision.offer.agent_id,
                    {
                        "type": "offer.withdrawn",
                        "offer_id": decision.offer.offer_id,
                        "reason": decision.reason,
                    },
                )
            elif isinstance(decision, AssignCall):
                await self._assign(decision)
            elif isinstance(decision, GiveUp):
                self._give_up(decision)
            elif isinstance(decision, AgentSetUnavailable):
                self._send(decision.agent_id, {"type": "status", "available": False})
            elif isinstance(decision, CallFinished):
                self._send(
                    decision.agent_id,
                    {"type": "call.ended", "call_id": decision.call_id, "reason": decision.reason},
                )
            elif isinstance(decision, TakeoverFailed):
                self._takeover_failed(decision)

    async def _offer(self, decision: OfferCall) -> None:
        offer = decision.offer
        context = await self._describe(offer.call_id)
        if not self.router.offer_is_current(offer.offer_id):
            return  # taken back while the context was fetched
        now = self._clock.monotonic()
        transcript = [
            {"role": str(line.get("role", "")), "text": str(line.get("text", ""))[:MAX_TEXT_CHARS]}
            for line in context.get("transcript", [])[-MAX_TRANSCRIPT_LINES:]
            if isinstance(line, dict)
        ]
        self._send(
            offer.agent_id,
            {
                "type": "offer",
                "offer_id": offer.offer_id,
                "call_id": offer.call_id,
                "queue": decision.queue,
                "priority": decision.priority,
                "waited_s": round(decision.waited_s + (now - offer.offered_at), 1),
                "expires_in_s": round(max(0.0, offer.expires_at - now), 1),
                "summary": str(context.get("summary", ""))[:MAX_TEXT_CHARS],
                "transcript": transcript,
                "reasons": list(decision.reasons),
                "evidence": list(decision.evidence),
            },
        )

    async def _describe(self, call_id: str) -> dict[str, Any]:
        try:
            async with asyncio.timeout(CONTEXT_TIMEOUT_S):
                context = await self._context.describe(call_id)
        except Exception:  # the offer goes out without it rather than not at all
            log.warning("call context unavailable for an offer", extra={"call_id": call_id})
            return {}
        return context if isinstance(context, dict) else {}

    async def _assign(self, decision: AssignCall) -> None:
        grant = BridgeGrant(
            call_id=decision.call_id, agent_id=decision.agent_id, queue=decision.queue
        )
        try:
            token = await issue_bridge_token(self._redis, grant, prefix=self._prefix)
        except Exception:
            log.exception("bridge token could not be issued", extra={"call_id": decision.call_id})
            self._send(decision.agent_id, _error("bridge_unavailable", "Could not connect you."))
            await self._carry_out(self.router.requeue(decision.call_id, self._clock.monotonic()))
            return
        self._send(
            decision.agent_id,
            {
                "type": "assigned",
                "call_id": decision.call_id,
                "bridge_url": f"{decision.gateway_url}/v1/bridge?token={token}",
            },
        )
        self._publish(
            self._topics.call_events,
            EscalationAssigned(queue=decision.queue, agent_id=decision.agent_id),
            decision.call_id,
            decision.line_id,
        )
        HANDOFFS.labels("assigned").inc()
        log.info(
            "call assigned", extra={"call_id": decision.call_id, "agent_id": decision.agent_id}
        )

    def _give_up(self, decision: GiveUp) -> None:
        line = self.lines.get(decision.line_id)
        handoff = line.handoff if line is not None else HandoffSettings()
        call_id, line_id = decision.call_id, decision.line_id
        self._publish(
            self._topics.call_control,
            Hangup(issued_by=ISSUER, reason=decision.reason, say=handoff.no_agent_message),
            call_id,
            line_id,
        )
        self._publish(
            self._topics.call_events, HandoffFailed(reason=decision.reason), call_id, line_id
        )
        HANDOFFS.labels("failed").inc()
        callback = ToolExecute(
            tool_call_id=f"callback-{uuid.uuid4().hex}",
            name="create_ticket",
            arguments={
                "subject": "Callback requested",
                "description": (
                    f"Callback requested for call {call_id}: no agent was free to take it "
                    "while the caller waited. Please call the customer back."
                ),
            },
            deadline_at=self._clock.wall() + timedelta(seconds=CALLBACK_DEADLINE_S),
            idempotency_key=f"callback:{call_id}"[:200],
            reply_to=self._source,
        )
        self._publish(self._topics.tool_requests, callback, call_id, line_id)
        log.info("handoff given up", extra={"call_id": call_id, "reason": decision.reason})

    def _takeover_failed(self, decision: TakeoverFailed) -> None:
        call_id, line_id = decision.call_id, decision.line_id
        log.info(
            "takeover failed",
            extra={"call_id": call_id, "agent_id": decision.agent_id, "reason": decision.reason},
        )
        if decision.resume_ai:  # else the call still waits for its queue, on hold
            failed = HandoffFailed(reason=decision.reason)
            self._publish(self._topics.call_events, failed, call_id, line_id)
            HANDOFFS.labels("failed").inc()
            self._publish(
                self._topics.call_control, ResumeAgent(issued_by=ISSUER), call_id, line_id
            )

    def _publish(self, topic: str, payload: EventPayload, call_id: str, line_id: str) -> None:
        envelope = new_event(
            payload,
            call_id=call_id,
            line_id=line_id,
            source=self._source,
            occurred_at=self._clock.wall(),
        )
        if not self._publisher.publish(topic, envelope):
            log.error("desk event dropped", extra={"call_id": call_id, "type": payload.event_type})

    def _send(self, agent_id: str, message: dict[str, Any]) -> None:
        connection = self._connections.get(agent_id)
        if connection is not None:
            connection.send(message)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}
