# ruff: noqa: F811  (pytest fixtures imported from tests.support.tools are parameters here)
"""Rule backtests against the real analytics service: stored (redacted) calls replayed through
the line's rules, or through rules a team wants to try, before they ship."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.localstack.infrastructure import free_port
from shared.events import (
    CallEnded,
    CallStarted,
    EventPayload,
    ToolCall,
    ToolResult,
    TranscriptAgent,
    TranscriptUser,
    new_event,
)
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings
from tests.conftest import Keys
from tests.integration.test_session_registry import eventually, get_json
from tests.support.processes import ServiceProcess
from tests.support.tools import producer  # noqa: F401 (fixture)


@pytest.fixture
def analytics(service_env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess("analytics", free_port(), service_env, log_dir).start()
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def session(
    service_env: dict[str, str], unique: str, log_dir: Path, analytics: ServiceProcess, keys: Keys
) -> Iterator[ServiceProcess]:
    env = {
        **service_env,
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "SESSION_ANALYTICS_URL": analytics.url,
        "SESSION_ANALYTICS_KEY": keys.analyst,
    }
    proc = ServiceProcess("session", free_port(), env, log_dir).start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


def post_json(url: str, key: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


CALLS: dict[str, list[EventPayload]] = {
    "person": [
        TranscriptUser(item_id="u1", text="hi, I'm calling about my order"),
        TranscriptAgent(reply_id="a1", text="Sure, what's the order number?"),
        TranscriptUser(item_id="u2", text="it's ORD-12345, it never arrived"),
        ToolCall(tool_call_id="t1", name="order_status", executor="server"),
        ToolResult(tool_call_id="t1", status="ok", duration_ms=40),
        TranscriptAgent(reply_id="a2", text="It shipped on Monday."),
        TranscriptUser(item_id="u3", text="I'd like to speak to a real person please"),
    ],
    "calm": [
        TranscriptUser(item_id="u1", text="these headphones broke after a week, which is annoying"),
        TranscriptAgent(reply_id="a1", text="Sorry to hear that. I can start a replacement."),
        TranscriptUser(item_id="u2", text="great, thanks, that works for me"),
    ],
    "timeouts": [
        TranscriptUser(item_id="u1", text="where's my refund"),
        ToolCall(tool_call_id="t1", name="order_status", executor="server"),
        ToolResult(tool_call_id="t1", status="timeout", duration_ms=6000),
        TranscriptAgent(reply_id="a1", text="Let me try that again."),
        TranscriptUser(item_id="u2", text="ok"),
        ToolCall(tool_call_id="t2", name="order_status", executor="server"),
        ToolResult(tool_call_id="t2", status="error", duration_ms=10),
        TranscriptAgent(reply_id="a2", text="I couldn't reach our system."),
        TranscriptUser(item_id="u3", text="hmm ok"),
    ],
}


async def store_calls(
    producer: BufferedProducer, kafka: KafkaSettings, tag: str, analytics: ServiceProcess, key: str
) -> dict[str, str]:
    ids = {}
    started = datetime.now(UTC) - timedelta(minutes=5)
    for name, payloads in CALLS.items():
        call_id = f"sess_{name}_{tag}"
        ids[name] = call_id
        events = [CallStarted(channel="voice_agent", line_id="demo-retail"), *payloads]
        events.append(CallEnded(reason="client_ended", duration_s=60.0))
        for n, payload in enumerate(events):
            envelope = new_event(
                payload, call_id=call_id, line_id="demo-retail", source="gw-a",
                occurred_at=started + timedelta(seconds=n),
            )  # fmt: skip
            await producer.send_now(
                kafka.topic("cc.call-events.v1"), key=call_id.encode(), value=envelope.to_json()
            )

    def stored() -> bool:
        try:
            return all(
                get_json(f"{analytics.url}/v1/calls/{c}", key).get("ended_at") for c in ids.values()
            )
        except urllib.error.HTTPError:
            return False  # not stored yet

    await eventually(stored, 30)
    return ids


async def test_a_backtest_reports_which_stored_calls_would_escalate_and_when(
    session: ServiceProcess,
    analytics: ServiceProcess,
    producer: BufferedProducer,
    kafka: KafkaSettings,
    keys: Keys,
    unique: str,
) -> None:
    ids = await store_calls(producer, kafka, unique, analytics, keys.analyst)
    window = {
        "since": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "until": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "line_id": "demo-retail",
    }
    url = f"{session.url}/v1/rules/backtest"
    status, report = post_json(url, keys.supervisor, window)
    assert status == 200, report
    assert report["calls"] == 3
    found = {w["call_id"]: w for w in report["would_escalate"]}
    assert set(found) == {ids["person"], ids["timeouts"]}
    assert found[ids["person"]]["rule_id"] == "asked-for-person"
    assert found[ids["person"]]["caller_turn"] == 3
    assert found[ids["timeouts"]]["rule_id"] == "tool-failures"
    assert found[ids["timeouts"]]["caller_turn"] == 2
    assert report["by_rule"] == {"asked-for-person": 1, "tool-failures": 1}

    # A team tries a stricter tool rule and no person rule: only the timeouts call goes, and
    # it goes at the first failure.
    trial = [
        {
            "id": "one-tool-failure",
            "priority": 40,
            "when": {"any": [{"signal": "tool_failures", "threshold": 1, "window_s": 300}]},
        }
    ]
    status, tried = post_json(url, keys.supervisor, {**window, "rules": trial})
    assert status == 200, tried
    assert tried["rules_overridden"] is True
    assert [(w["call_id"], w["rule_id"], w["caller_turn"]) for w in tried["would_escalate"]] == [
        (ids["timeouts"], "one-tool-failure", 1)
    ]


async def test_backtest_refuses_bad_rules_and_wrong_keys(
    session: ServiceProcess, keys: Keys
) -> None:
    url = f"{session.url}/v1/rules/backtest"
    now = datetime.now(UTC)
    body = {"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat()}
    assert post_json(url, keys.analyst, body)[0] == 403
    bad = {**body, "line_id": "demo-retail", "rules": [{"id": "x", "when": {"any": [
        {"signal": "sentimnt", "threshold": -0.5}]}}]}  # fmt: skip
    status, answer = post_json(url, keys.supervisor, bad)
    assert status == 422 and "sentimnt" in answer["detail"]
