"""handle_tool_execute returns the reply, with an id derived from the command."""

from __future__ import annotations

from typing import Any

from services.tools.domain.execution import ToolRequest
from services.tools.domain.registry import ToolRegistry
from services.tools.executor import ToolExecutor
from services.tools.handlers import handle_tool_execute
from services.tools.settings import ExecutionSettings
from shared.events import DEFAULT_REGISTRY, ToolCall
from shared.lines import load_lines, load_tool_specs
from tests.support.tools import command


class Echo:
    async def invoke(self, request: ToolRequest) -> dict[str, Any]:
        return {"topic": request.arguments["topic"]}


def executor() -> ToolExecutor:
    return ToolExecutor(
        registry=ToolRegistry(load_tool_specs(), load_lines()),
        backends={"crm": Echo()},
        settings=ExecutionSettings(),
    )


async def test_one_reply_with_a_stable_id_and_no_call_event() -> None:
    envelope = command("store_info", {"topic": "hours"}, call_id="sess_h", reply_to="gw-7")
    payload = DEFAULT_REGISTRY.decode(envelope)
    first = await handle_tool_execute(envelope, payload, executor=executor())
    again = await handle_tool_execute(envelope, payload, executor=executor())
    # Only the reply: the call's tool.result is the gateway's (one per tool call, not two).
    (completed,) = first
    assert completed.type == "tool.completed"
    assert completed.payload["tool_call_id"] == envelope.payload["tool_call_id"]
    assert completed.payload["reply_to"] == "gw-7" and completed.payload["status"] == "ok"
    assert completed.payload["result"] == {"topic": "hours"}
    assert (completed.call_id, completed.source) == ("sess_h", "tools")
    # A redelivered command's replies carry the same event ids (consumers keep one).
    assert [e.event_id for e in first] == [e.event_id for e in again]


async def test_other_events_on_the_requests_topic_are_not_answered() -> None:
    envelope = command("store_info", {"topic": "hours"}, call_id="sess_h")
    other = ToolCall(tool_call_id="t", name="x", executor="server")
    assert await handle_tool_execute(envelope, other, executor=executor()) == []
