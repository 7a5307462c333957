"""The gateway's call metrics, read from the events it publishes (no I/O: the process registry)."""

from __future__ import annotations

from prometheus_client import REGISTRY

from services.gateway.entrypoints.call_metrics import (
    MAX_PENDING_CLIENT_TOOLS,
    CallMetrics,
    observe_stage,
)
from shared.events import (
    CallEnded,
    CallStarted,
    HandoffFailed,
    Interruption,
    ToolCall,
    ToolResult,
    TurnMetrics,
)
from shared.telemetry.metrics import MAX_LABEL_VALUES, OTHER, BoundedLabel


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def stage_count(stage: str) -> float:
    return value("switchboard_turn_stage_seconds_count", stage=stage)


def test_turn_metrics_stages_become_stage_observations_in_seconds() -> None:
    stages = ("end_of_turn", "stt", "llm_first_token", "tts_first_audio", "voice_to_voice")
    before = {s: stage_count(s) for s in stages}
    slow_before = value("switchboard_turn_stage_seconds_bucket", stage="voice_to_voice", le="1.5")
    stages_ms = {"end_of_turn": 500, "stt": 80.5, "llm_first_token": 300, "tts_first_audio": 120}

    CallMetrics().observe(TurnMetrics(turn=1, stages_ms={**stages_ms, "voice_to_voice": 1600}))

    assert {s: stage_count(s) - before[s] for s in stages} == dict.fromkeys(stages, 1)
    # 1.6 s is past the 1.5 s bucket edge: milliseconds were turned into seconds.
    assert value("switchboard_turn_stage_seconds_bucket", stage="voice_to_voice", le="1.5") == (
        slow_before
    )


def test_a_stage_not_in_the_list_or_negative_is_not_a_label() -> None:
    observe_stage("made_up", 10)
    observe_stage("stt", -1)
    assert value("switchboard_turn_stage_seconds_count", stage="made_up") == 0
    CallMetrics().observe(TurnMetrics(turn=1, stages_ms={"caller_name": 5}))
    assert value("switchboard_turn_stage_seconds_count", stage="caller_name") == 0


def test_a_tool_result_is_a_tool_stage_and_a_client_tool_is_counted_by_name() -> None:
    metrics = CallMetrics()
    tool_stage = stage_count("tool")
    client = value("switchboard_tool_duration_seconds_count", tool="get_weather", status="ok")
    server = value("switchboard_tool_duration_seconds_count", tool="order_status", status="ok")

    metrics.observe(ToolCall(tool_call_id="c1", name="get_weather", executor="client"))
    metrics.observe(ToolCall(tool_call_id="s1", name="order_status", executor="server"))
    metrics.observe(ToolResult(tool_call_id="c1", status="ok", duration_ms=200))
    metrics.observe(ToolResult(tool_call_id="s1", status="ok", duration_ms=300))

    assert stage_count("tool") - tool_stage == 2
    assert value("switchboard_tool_duration_seconds_count", tool="get_weather", status="ok") == (
        client + 1
    )
    # A server tool is counted where it runs (the tools service), not twice.
    assert value("switchboard_tool_duration_seconds_count", tool="order_status", status="ok") == (
        server
    )


def test_pending_client_tools_are_bounded_oldest_forgotten_first() -> None:
    metrics = CallMetrics()
    for i in range(MAX_PENDING_CLIENT_TOOLS + 1):
        metrics.observe(ToolCall(tool_call_id=f"c{i}", name="lookup", executor="client"))
    before = value("switchboard_tool_duration_seconds_count", tool="lookup", status="ok")
    metrics.observe(ToolResult(tool_call_id="c0", status="ok", duration_ms=1))
    assert value("switchboard_tool_duration_seconds_count", tool="lookup", status="ok") == before
    metrics.observe(ToolResult(tool_call_id="c1", status="ok", duration_ms=1))
    assert value("switchboard_tool_duration_seconds_count", tool="lookup", status="ok") == (
        before + 1
    )


def test_calls_interruptions_and_handoffs_are_counted_by_their_bounded_labels() -> None:
    metrics = CallMetrics()
    started = value("switchboard_calls_started_total", channel="twilio")
    ended = value("switchboard_calls_ended_total", reason="max_duration")
    barge_in = value("switchboard_interruptions_total", kind="barge_in")
    failed = value("switchboard_handoffs_total", outcome="failed")

    metrics.observe(CallStarted(channel="twilio", line_id="demo-retail"))
    metrics.observe(CallEnded(reason="max_duration", duration_s=42))
    metrics.observe(Interruption(reply_id="r1", played_ms=800))
    metrics.observe(HandoffFailed(reason="hold_timeout"))

    assert value("switchboard_calls_started_total", channel="twilio") == started + 1
    assert value("switchboard_calls_ended_total", reason="max_duration") == ended + 1
    assert value("switchboard_interruptions_total", kind="barge_in") == barge_in + 1
    assert value("switchboard_handoffs_total", outcome="failed") == failed + 1


def test_a_bounded_label_keeps_plain_values_up_to_its_cap_then_says_other() -> None:
    label = BoundedLabel()
    assert label("client_ended") == "client_ended"
    assert label("Caller said: Jane Doe") == OTHER  # free text never becomes a series
    assert label("x" * 41) == OTHER
    for i in range(MAX_LABEL_VALUES - 1):
        assert label(f"reason_{i}") == f"reason_{i}"
    assert label("one_too_many") == OTHER
    assert label("client_ended") == "client_ended"  # values already seen stay themselves
