"""The gateway's call metrics, read from the call events it publishes.

Every fact worth a metric already leaves the gateway as an event (``call.started``,
``turn.metrics``, ``tool.result``, ``interruption``...), all through ``GatewayContext.publish``;
observing them there keeps the metrics and the call log telling the same story, and keeps
metric code out of the pipeline. Labels never carry a call id: tool names come from the line
config or, for client tools, the client's own session (so a ``BoundedLabel``), the rest from
fixed sets or a ``BoundedLabel``.
"""

from __future__ import annotations

from collections import OrderedDict

from prometheus_client import Counter, Histogram

from shared.events import (
    CallEnded,
    CallStarted,
    DialogueFallback,
    EventPayload,
    HandoffCompleted,
    HandoffFailed,
    Interruption,
    ToolCall,
    ToolResult,
    TurnMetrics,
)
from shared.telemetry.metrics import HANDOFFS, TOOL_DURATION, BoundedLabel

# The stages of a caller turn; ``turn.metrics``' ``stages_ms`` uses the same names, plus
# ``tool`` (a tool's round trip as the gateway waited for it, from ``tool.result``).
STAGES = frozenset(
    {"end_of_turn", "stt", "llm_first_token", "tool", "tts_first_audio", "voice_to_voice"}
)
TURN_STAGE_SECONDS = Histogram(
    "switchboard_turn_stage_seconds",
    "Latency of one stage of a caller turn (end_of_turn, stt, llm_first_token, tool, "
    "tts_first_audio, voice_to_voice).",
    ["stage"],
    # 1.5 s is a bucket edge: the voice-to-voice target the alert checks.
    buckets=(0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
)
INTERRUPTIONS = Counter(
    "switchboard_interruptions_total",
    "Agent replies cut short: by the caller speaking (barge_in) or a reply.cancel (cancel).",
    ["kind"],
)
CALLS_STARTED = Counter(
    "switchboard_calls_started_total",
    "Calls this gateway started, by channel (voice_agent, twilio, text).",
    ["channel"],
)
CALLS_ENDED = Counter(
    "switchboard_calls_ended_total", "Calls this gateway ended, by end reason.", ["reason"]
)
CALL_DURATION = Histogram(
    "switchboard_call_duration_seconds",
    "Length of the calls this gateway ended.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
DIALOGUE_FALLBACKS = Counter(
    "switchboard_dialogue_fallbacks_total",
    "Agent turns answered by the fallback because the dialogue provider failed.",
    ["provider"],
)
# Client tool calls waiting for their result, remembered for the tool's name (a ``tool.result``
# carries only the call id). Past this many, the oldest is forgotten: its result then counts
# in the ``tool`` stage but not in ``switchboard_tool_duration_seconds``.
MAX_PENDING_CLIENT_TOOLS = 10_000


def observe_stage(stage: str, ms: float) -> None:
    """One stage timing of a turn, in milliseconds; stages not in ``STAGES`` are ignored."""
    if stage in STAGES and ms >= 0:
        TURN_STAGE_SECONDS.labels(stage).observe(ms / 1000)


class CallMetrics:
    """Observes each call event the gateway publishes (one per process, on its context)."""

    def __init__(self) -> None:
        self._client_tools: OrderedDict[str, str] = OrderedDict()
        self._end_reason = BoundedLabel()
        self._provider = BoundedLabel()
        self._client_tool = BoundedLabel()  # a client names its own tools: capped

    def observe(self, payload: EventPayload) -> None:
        if isinstance(payload, TurnMetrics):
            for stage, ms in payload.stages_ms.items():
                observe_stage(stage, ms)
        elif isinstance(payload, ToolCall):
            if payload.executor == "client":
                self._client_tools[payload.tool_call_id] = self._client_tool(payload.name)
                while len(self._client_tools) > MAX_PENDING_CLIENT_TOOLS:
                    self._client_tools.popitem(last=False)
        elif isinstance(payload, ToolResult):
            observe_stage("tool", payload.duration_ms)
            name = self._client_tools.pop(payload.tool_call_id, None)
            if name is not None:
                TOOL_DURATION.labels(name, payload.status).observe(payload.duration_ms / 1000)
        elif isinstance(payload, Interruption):
            INTERRUPTIONS.labels(payload.kind).inc()
        elif isinstance(payload, CallStarted):
            CALLS_STARTED.labels(payload.channel).inc()
        elif isinstance(payload, CallEnded):
            CALLS_ENDED.labels(self._end_reason(payload.reason)).inc()
            CALL_DURATION.observe(payload.duration_s)
        elif isinstance(payload, HandoffCompleted):
            HANDOFFS.labels("completed").inc()
        elif isinstance(payload, HandoffFailed):
            HANDOFFS.labels("failed").inc()
        elif isinstance(payload, DialogueFallback):
            DIALOGUE_FALLBACKS.labels(self._provider(payload.provider)).inc()
