# ruff: noqa: F811  (pytest fixtures imported from tests.support.tools are parameters here)
"""The session service as a process over the real broker and Redis: the live session registry
follows call events, answers supervisors only, expires ended calls, and reloads line files."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from infra.localstack.infrastructure import Infrastructure, free_port
from shared.events import (
    CallEnded,
    CallStarted,
    CallStateChanged,
    EventPayload,
    TranscriptUser,
    new_event,
)
from shared.kafka.producer import BufferedProducer
from shared.settings import KafkaSettings
from tests.conftest import REPO, Keys
from tests.support.processes import ServiceProcess, http_status
from tests.support.tools import producer  # noqa: F401 (fixture)


@pytest.fixture
def lines_dir(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    shutil.copytree(REPO / "config" / "lines", root / "lines")
    shutil.copytree(REPO / "config" / "tools", root / "tools")
    return root / "lines"


@pytest.fixture
def session(
    service_env: dict[str, str], unique: str, log_dir: Path, lines_dir: Path
) -> Iterator[ServiceProcess]:
    env = {
        **service_env,
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "LINES_DIR": str(lines_dir),
        "SESSION_RULES_RELOAD_S": "0.2",
    }
    proc = ServiceProcess("session", free_port(), env, log_dir).start()
    try:
        proc.wait_ready(60)
        yield proc
    finally:
        proc.stop()


def get_json(url: str, key: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


async def publish(
    producer: BufferedProducer, kafka: KafkaSettings, call_id: str, payload: EventPayload
) -> None:
    event = new_event(payload, call_id=call_id, line_id="demo-retail", source="gw-a")
    await producer.send_now(
        kafka.topic("cc.call-events.v1"), key=call_id.encode(), value=event.to_json()
    )


async def eventually(check: Any, timeout_s: float = 15.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            result = check()
            if result:
                return result
        except (AssertionError, KeyError, StopIteration):
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_the_registry_follows_a_call_from_start_to_expiry(
    session: ServiceProcess,
    producer: BufferedProducer,
    kafka: KafkaSettings,
    keys: Keys,
    infra: Infrastructure,
    unique: str,
) -> None:
    call = f"sess_{unique}"
    redis = Redis.from_url(infra.redis_url)
    try:  # a member from a call that started five hours ago: trimmed by the next write
        await redis.zadd(f"t{unique}:live-index", {"sess_ancient": time.time() - 5 * 3600})
    finally:
        await redis.aclose()
    started = CallStarted(
        channel="voice_agent",
        caller="+1 415 555 0100",
        line_id="demo-retail",
        attributes={"gateway_url": "ws://gw-a.internal:8080"},
    )
    await publish(producer, kafka, call, started)
    await publish(producer, kafka, call, CallStateChanged(state="agent_speaking"))
    await publish(producer, kafka, call, TranscriptUser(item_id="i1", text="where is my order"))

    def listed() -> dict[str, Any]:
        found = get_json(f"{session.url}/v1/sessions", keys.supervisor)["sessions"]
        entry = next(s for s in found if s["call_id"] == call)
        assert entry["user_turns"] == 1
        return entry  # type: ignore[no-any-return]

    entry = await eventually(listed)
    assert entry["line_id"] == "demo-retail" and entry["channel"] == "voice_agent"
    assert entry["gateway_id"] == "gw-a" and entry["gateway_url"] == "ws://gw-a.internal:8080"
    assert entry["state"] == "agent_speaking"
    shown = json.dumps(entry)  # the caller's number is not shown, in any spelling
    assert "555 0100" not in shown and "5550100" not in shown and "+1 415" not in shown
    one = get_json(f"{session.url}/v1/sessions/{call}", keys.supervisor)
    assert one["call_id"] == call and one["checkpoint"] is None

    await publish(producer, kafka, call, CallEnded(reason="client_ended", duration_s=3.0))

    def ended() -> bool:
        one = get_json(f"{session.url}/v1/sessions/{call}", keys.supervisor)
        return bool(one["state"] == "ended" and one["ended_reason"] == "client_ended")

    await eventually(ended)
    live = get_json(f"{session.url}/v1/sessions", keys.supervisor)["sessions"]
    assert call not in {s["call_id"] for s in live}
    everything = get_json(f"{session.url}/v1/sessions?include_ended=true", keys.supervisor)
    assert call in {s["call_id"] for s in everything["sessions"]}
    redis = Redis.from_url(infra.redis_url)
    try:
        ttl = await redis.ttl(f"t{unique}:live:{call}")
        ancient = await redis.zscore(f"t{unique}:live-index", "sess_ancient")
    finally:
        await redis.aclose()
    assert 0 < ttl <= 30
    assert ancient is None


async def test_sessions_answer_supervisors_only(session: ServiceProcess, keys: Keys) -> None:
    url = f"{session.url}/v1/sessions"
    assert http_status(url) == 401
    assert http_status(url, headers={"Authorization": "Bearer sb_nope"}) == 401
    assert http_status(url, headers={"Authorization": f"Bearer {keys.analyst}"}) == 403
    assert http_status(url, headers={"Authorization": f"Bearer {keys.supervisor}"}) == 200
    assert (
        http_status(f"{url}/sess_unknown", headers={"Authorization": f"Bearer {keys.admin}"}) == 404
    )


async def test_a_changed_line_file_takes_effect_and_a_broken_one_is_refused(
    session: ServiceProcess, keys: Keys, lines_dir: Path
) -> None:
    url = f"{session.url}/v1/rules"
    before = get_json(url, keys.supervisor)
    version = before["lines"][0]["rules_version"]
    path = lines_dir / "demo-retail.yaml"
    path.write_text(path.read_text().replace("human_queue: retail-support", "human_queue: tier2"))

    def reloaded() -> dict[str, Any]:
        now = get_json(url, keys.supervisor)
        assert now["lines"][0]["rules_version"] != version
        return now  # type: ignore[no-any-return]

    now = await eventually(reloaded, 10)
    assert now["lines"][0]["human_queue"] == "tier2" and now["last_error"] is None

    path.write_text(path.read_text() + "\nnot_a_field: true\n")

    def refused() -> dict[str, Any]:
        later = get_json(url, keys.supervisor)
        assert later["last_error"] and "not_a_field" in later["last_error"]
        return later  # type: ignore[no-any-return]

    later = await eventually(refused, 10)
    assert later["lines"][0]["rules_version"] == now["lines"][0]["rules_version"]
    assert later["lines"][0]["human_queue"] == "tier2"
