"""What a live call is doing, derived from what the session core does (sans I/O).

The connection shows the tracker every action it carries out; the tracker answers with a
``call.state_changed`` event when the call's state changes: ``listening`` once the call starts
and after each reply, ``agent_speaking`` while a reply runs, ``tool_running`` while a tool call
is out, ``on_hold`` / ``with_human`` during a handoff (these win over the rest), and
``disconnected`` when the socket drops and the call waits to be resumed. Nothing is debounced,
but the same state is never published twice in a row.
"""

from __future__ import annotations

from typing import Literal

from services.gateway.domain.actions import Action, CancelReply, Publish, Send
from shared.events import CallStarted, CallState, CallStateChanged, ToolCall, ToolResult

Hold = Literal["on_hold", "with_human"]
# Tool calls tracked at once; a model cannot have more out (MAX_PENDING_TOOLS is 16), so past
# this bound the oldest ids are forgotten rather than grown without limit.
MAX_TRACKED_TOOLS = 64


class CallStatus:
    """The call's state and the events that report its changes."""

    def __init__(self) -> None:
        self.published: CallState | None = None
        self.hold: Hold | None = None
        self.live = False
        self._replies: set[str] = set()
        self._tools: list[str] = []

    @property
    def state(self) -> CallState:
        if self.hold is not None:
            return self.hold
        if self._tools:
            return "tool_running"
        if self._replies:
            return "agent_speaking"
        return "listening"

    @property
    def speaking(self) -> bool:
        return bool(self._replies)

    def observe(self, action: Action) -> list[Action]:
        """The state event (if any) that carrying out ``action`` causes."""
        if isinstance(action, Send):
            kind, reply_id = action.frame.get("type"), str(action.frame.get("reply_id", ""))
            if kind == "reply.started":
                self._replies.add(reply_id)
            elif kind == "reply.done":
                self._replies.discard(reply_id)
                if action.frame.get("status") == "interrupted":
                    self._tools = []  # a barge-in drops the reply's pending tool calls
            else:
                return []
        elif isinstance(action, Publish):
            payload = action.payload
            if isinstance(payload, CallStarted):
                return self.resumed()  # a new call starts listening
            elif isinstance(payload, ToolCall):
                self._tools = [*self._tools, payload.tool_call_id][-MAX_TRACKED_TOOLS:]
            elif isinstance(payload, ToolResult):
                self._tools = [t for t in self._tools if t != payload.tool_call_id]
            else:
                return []
        elif isinstance(action, CancelReply):
            self._tools = []  # a barge-in drops the reply's pending tool calls
        else:
            return []
        return self._report()

    def resumed(self) -> list[Action]:
        """The call (re)starts listening (or held, if it was)."""
        self.live = True
        self._replies.clear()
        self._tools = []
        return self._report()

    def set_hold(self, hold: Hold | None) -> list[Action]:
        self.hold = hold
        return self._report()

    def disconnected(self) -> list[Action]:
        """The socket dropped; the call waits out its resume window."""
        return self._publish("disconnected")

    def _report(self) -> list[Action]:
        return self._publish(self.state) if self.live else []

    def _publish(self, state: CallState) -> list[Action]:
        if state == self.published:
            return []
        self.published = state
        return [Publish(CallStateChanged(state=state))]
