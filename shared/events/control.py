"""Commands to a live call, on ``cc.call-control.v1`` (session service, supervisors -> gateway).

Every gateway reads the topic in its own consumer group and acts on the commands for calls it
holds (the envelope's ``call_id``); the others skip them. A command is carried out at most once
per call (the gateway remembers recent ``event_id``s) and answered with a ``control.applied``
call event naming who issued it: the audit trail supervisors and analysts read.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.events.envelope import EventPayload

# A spoken or whispered line is a sentence or two, never a document.
MAX_SPOKEN = 1_000


class ControlCommand(EventPayload):
    """Base of every call-control command."""

    # Who asked: ``rule:<rule_id>``, ``desk:<agent_id>``, ``supervisor:<key id>``. Audited.
    issued_by: str = Field(min_length=1, max_length=200)


# v1, superseded by v2 (``agent_id``); old records are decoded through the upcaster.
class HandoffV1(ControlCommand):
    """Tell the caller they are being connected, stop the AI, hold for a human (bridge)."""

    model_config = ConfigDict(extra="ignore", frozen=True, title="Handoff")

    event_type = "handoff"
    queue: str = Field(min_length=1, max_length=100)
    say: str | None = Field(default=None, max_length=MAX_SPOKEN)
    dial: str | None = Field(default=None, max_length=200)


class Handoff(ControlCommand):
    """Tell the caller they are being connected, stop the AI, hold for a human (bridge)."""

    event_type = "handoff"
    event_version = 2
    queue: str = Field(min_length=1, max_length=100)
    say: str | None = Field(default=None, max_length=MAX_SPOKEN)
    # An external target instead of the agent desk (phone lines, per line): a number or SIP URI.
    dial: str | None = Field(default=None, max_length=200)
    # One desk agent who alone is offered the call (a supervisor taking it over); None: the
    # queue's agents, as routing picks them.
    agent_id: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$"
    )


def upcast_handoff_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: no target agent."""
    return {**payload, "agent_id": None}


class Hangup(ControlCommand):
    """End the call, after saying ``say`` (a goodbye) if given."""

    event_type = "hangup"
    reason: str = Field(default="hangup", max_length=100)
    say: str | None = Field(default=None, max_length=MAX_SPOKEN)


class Say(ControlCommand):
    """Speak this to the caller now (it is not the agent's own reply)."""

    event_type = "say"
    text: str = Field(min_length=1, max_length=MAX_SPOKEN)


class PauseAgent(ControlCommand):
    """The AI stops answering (the caller is held); audio keeps flowing."""

    event_type = "pause_agent"


class ResumeAgent(ControlCommand):
    """The AI answers again (a handoff that was abandoned, a supervisor's release)."""

    event_type = "resume_agent"


class Whisper(ControlCommand):
    """An instruction added to the agent's context for its next turns; never spoken."""

    event_type = "whisper"
    text: str = Field(min_length=1, max_length=MAX_SPOKEN)


CONTROL_COMMANDS: tuple[type[EventPayload], ...] = (
    HandoffV1,
    Handoff,
    Hangup,
    Say,
    PauseAgent,
    ResumeAgent,
    Whisper,
)
