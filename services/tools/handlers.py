"""Handlers of the tools service: commands in, events out (the entrypoint publishes them)."""

from __future__ import annotations

import uuid

from opentelemetry import trace

from services.tools.domain.execution import ToolCommand
from services.tools.executor import ToolExecutor
from shared.events import ToolCompleted, ToolExecute, new_event
from shared.events.envelope import Envelope, EventPayload

SOURCE = "tools"


def reply_id(command_event_id: uuid.UUID, kind: str) -> uuid.UUID:
    """A reply's event id, derived from the command's: a redelivered command's replies carry
    the same ids, so consumers that are idempotent on ``event_id`` (analytics) keep one."""
    return uuid.uuid5(command_event_id, kind)


async def handle_tool_execute(
    envelope: Envelope, payload: EventPayload, *, executor: ToolExecutor
) -> list[Envelope]:
    """Run the command; return its ``tool.completed`` reply.

    The call's ``tool.result`` event is the gateway's to publish, once, with what the caller got
    (an outcome, or the gateway's own timeout when this service never answered). Publishing it
    here too counted every server tool call twice downstream (analytics' tool errors, the
    escalation rule's ``tool_failures``). Anything else on the requests topic is not ours to
    answer: no events.
    """
    if not isinstance(payload, ToolExecute):
        return []
    outcome = await executor.execute(
        ToolCommand(
            tool_call_id=payload.tool_call_id,
            call_id=envelope.call_id,
            line_id=envelope.line_id,
            name=payload.name,
            arguments=payload.arguments,
            deadline_at=payload.deadline_at,
            idempotency_key=payload.idempotency_key,
            fence_key=f"event:{envelope.event_id}",
        )
    )
    # The command's span (``tool.execute``): the outcome, never the arguments or the result.
    span = trace.get_current_span()
    span.set_attribute("status", outcome.status)
    span.set_attribute("tool.attempts", outcome.attempts)
    completed = ToolCompleted(
        tool_call_id=payload.tool_call_id,
        name=payload.name,
        status=outcome.status,
        result=outcome.result,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        attempts=outcome.attempts,
        reply_to=payload.reply_to,
    )
    reply = new_event(
        completed,
        call_id=envelope.call_id,
        line_id=envelope.line_id,
        source=SOURCE,
        event_id=reply_id(envelope.event_id, "tool.completed"),
    )
    return [reply]
