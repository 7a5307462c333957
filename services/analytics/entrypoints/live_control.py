"""A supervisor's controls of a live call: whisper to the agent, take the call over, end it.

Each request becomes one command on ``cc.call-control.v1`` (keyed by the call id), issued by
``supervisor:<key fingerprint>``; the gateway holding the call carries it out and answers with
``control.applied``, the audit trail (docs/dashboard.md, "Control").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.analytics.ports import LiveCalls
from shared.auth import key_fingerprint
from shared.events import ControlCommand, Handoff, Hangup, Whisper, new_event
from shared.events.control import MAX_SPOKEN
from shared.http.app import require_role
from shared.kafka.errors import DependencyUnavailableError
from shared.kafka.producer import BufferedProducer
from shared.lines import SupportLine

log = logging.getLogger(__name__)

CALL_CONTROL_TOPIC = "cc.call-control.v1"
# How long a request waits for the broker's acknowledgement; past it the answer is 503 and the
# supervisor may try again (the command may still arrive: the gateway applies it at most once
# per command id, and a retry is a new command).
SEND_TIMEOUT_S = 5.0
# The ``source`` of the commands this service publishes.
SOURCE = "analytics"
# A queue for a call whose line is no longer configured (the desk routes by agent anyway).
FALLBACK_QUEUE = "general"


@dataclass(frozen=True)
class ControlDeps:
    """What the control endpoints need, built in bootstrap."""

    producer: BufferedProducer
    topic: str  # the physical name of cc.call-control.v1 (the deployment's prefix applied)
    lines: Mapping[str, SupportLine]


class WhisperBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_SPOKEN, pattern=r"\S")


class TakeoverBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")


class EndBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    say: str | None = Field(default=None, max_length=MAX_SPOKEN)


class Accepted(BaseModel):
    command_id: str


def _deps(request: Request) -> ControlDeps:
    deps: ControlDeps = request.app.state.control
    return deps


def _live_calls(request: Request) -> LiveCalls:
    live: LiveCalls = request.app.state.live_calls
    return live


DepsDep = Annotated[ControlDeps, Depends(_deps)]
LiveDep = Annotated[LiveCalls, Depends(_live_calls)]
SupervisorKey = Annotated[str, Depends(require_role("supervisor"))]
CallId = Annotated[str, Path(min_length=1, max_length=200)]

router = APIRouter(prefix="/v1/live", tags=["live control"])


@router.post("/calls/{call_id}/whisper", status_code=202)
async def whisper(
    call_id: CallId, body: WhisperBody, deps: DepsDep, live: LiveDep, key: SupervisorKey
) -> Accepted:
    """Add an instruction to the agent's context for its next turns; never spoken."""
    line_id = _line_of(live, call_id)
    command = Whisper(issued_by=_issuer(key), text=body.text)
    return await _send(deps, command, call_id=call_id, line_id=line_id)


@router.post("/calls/{call_id}/takeover", status_code=202)
async def takeover(
    call_id: CallId, body: TakeoverBody, deps: DepsDep, live: LiveDep, key: SupervisorKey
) -> Accepted:
    """Hold the caller and offer the call to this desk agent alone (the supervisor's desk)."""
    line_id = _line_of(live, call_id)
    line = deps.lines.get(line_id)
    command = Handoff(
        issued_by=_issuer(key),
        queue=line.human_queue if line is not None else FALLBACK_QUEUE,
        say=line.handoff.hold_message if line is not None else None,
        agent_id=body.agent_id,
    )
    return await _send(deps, command, call_id=call_id, line_id=line_id)


@router.post("/calls/{call_id}/end", status_code=202)
async def end(
    call_id: CallId, deps: DepsDep, live: LiveDep, key: SupervisorKey, body: EndBody | None = None
) -> Accepted:
    """End the call, after saying ``say`` if given."""
    line_id = _line_of(live, call_id)
    say = body.say if body is not None else None
    command = Hangup(issued_by=_issuer(key), reason="supervisor_ended", say=say or None)
    return await _send(deps, command, call_id=call_id, line_id=line_id)


def _issuer(key: str) -> str:
    return f"supervisor:{key_fingerprint(key)}"


def _line_of(live: LiveCalls, call_id: str) -> str:
    try:
        line_id = live.line_of(call_id)
    except DependencyUnavailableError as exc:
        raise HTTPException(503, "live calls unavailable; try again") from exc
    if line_id is None:
        raise HTTPException(404, "no such live call")
    return line_id


async def _send(
    deps: ControlDeps, command: ControlCommand, *, call_id: str, line_id: str
) -> Accepted:
    envelope = new_event(command, call_id=call_id, line_id=line_id, source=SOURCE)
    try:
        await deps.producer.send_now(
            deps.topic, key=call_id.encode(), value=envelope.to_json(), timeout_s=SEND_TIMEOUT_S
        )
    except DependencyUnavailableError as exc:
        log.warning(
            "supervisor command not sent",
            extra={"call_id": call_id, "command": command.event_type},
        )
        raise HTTPException(503, "the event bus is unreachable; try again") from exc
    # Never the whisper's or goodbye's text: a supervisor may type what the caller said.
    log.info(
        "supervisor command sent",
        extra={
            "call_id": call_id,
            "command": command.event_type,
            "issued_by": command.issued_by,
            "command_id": str(envelope.event_id),
        },
    )
    return Accepted(command_id=str(envelope.event_id))
