"""A gateway drained with SIGTERM while calls are live (issue 11): real gateway processes, broker
and Redis.

Gateway A holds three Voice Agent API sessions when it gets SIGTERM: one the caller finishes
within the drain timeout, one still live at the timeout (handed over: it resumes on gateway B
with its context), and one whose client drops during the drain and never comes back (A must
still publish its ``call.ended`` before it exits). The call log then holds exactly one
``call.started`` and one ``call.ended`` per call, and no event twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from services.gateway.domain.drain import DrainBudget
from tests.support.calls import Caller
from tests.support.kafka import Records, read_topic
from tests.support.processes import ServiceProcess, gateway_pair, readiness, running
from tests.support.waiting import wait_until

DRAIN_TIMEOUT_S = 3.0
RESUME_WINDOW_S = 5.0
# What A may take from SIGTERM to exit, by its own budget (about a minute with these settings).
EXIT_BOUND_S = DrainBudget(DRAIN_TIMEOUT_S, RESUME_WINDOW_S).shutdown_s


@pytest.fixture
def stack(service_env: dict[str, str], log_dir) -> Iterator[dict[str, ServiceProcess]]:  # type: ignore[no-untyped-def]
    env = {
        **service_env,
        "GATEWAY_DRAIN_TIMEOUT_S": str(DRAIN_TIMEOUT_S),
        "GATEWAY_RESUME_WINDOW_S": str(RESUME_WINDOW_S),
    }
    procs = gateway_pair(env, log_dir)
    with running(procs, 90):
        yield procs


def connect(gateway: ServiceProcess, key: str) -> Any:
    url = f"ws://127.0.0.1:{gateway.port}/v1/ws"
    return websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"})


async def refusal(gateway: ServiceProcess, key: str, first: dict[str, Any]) -> tuple[str, int]:
    """What a new socket on ``gateway`` that sends ``first`` gets: error code, close code."""
    async with connect(gateway, key) as ws:
        with contextlib.suppress(websockets.ConnectionClosed):  # refused before it is read
            await ws.send(json.dumps(first))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        return str(frame.get("code")), int(ws.close_code or 0)


def boundaries(records: Records, call_ids: set[str]) -> dict[str, Counter[str]]:
    """Per call: how many call.started and call.ended the log holds."""
    counts: dict[str, Counter[str]] = {call_id: Counter() for call_id in call_ids}
    for record in records:
        event = json.loads(record.value)
        if event["call_id"] in counts and event["type"] in ("call.started", "call.ended"):
            counts[event["call_id"]][event["type"]] += 1
    return counts


@pytest.mark.slow
async def test_a_drained_gateway_lets_calls_finish_hands_the_rest_over_and_loses_no_event(
    stack: dict[str, ServiceProcess], keys: Any, service_env: dict[str, str]
) -> None:
    gw_a, gw_b = stack["gw_a"], stack["gw_b"]
    assert gw_a.process is not None
    async with connect(gw_a, keys.gateway) as ws1, connect(gw_a, keys.gateway) as ws2:
        finishing, staying = Caller(ws1), Caller(ws2)
        finishing_id = await finishing.ready()
        staying_id = await staying.ready(system_prompt="drain-me")
        assert await staying.say("what are your hours")
        ws3 = await connect(gw_a, keys.gateway)
        dropping = Caller(ws3)
        dropping_id = await dropping.ready()

        sigterm_at = time.monotonic()
        exited = asyncio.create_task(asyncio.to_thread(gw_a.stop, EXIT_BOUND_S + 10))

        # (a) A says it is draining and takes no new session, nor a resume.
        async def draining() -> bool:
            status, body = await asyncio.to_thread(readiness, gw_a.url)
            return (status, body.get("status")) == (503, "draining")

        assert await wait_until(draining, 5)
        new = {"type": "session.update", "session": {}}
        assert await refusal(gw_a, keys.gateway, new) == ("gateway_draining", 1013)
        # The dropping caller goes away mid-drain and tries to come back on A: refused there.
        await ws3.close()
        resume = {"type": "session.resume", "session_id": dropping_id}
        assert await refusal(gw_a, keys.gateway, resume) == ("gateway_draining", 1013)

        # (b) Live calls go on untouched during the drain; one finishes normally.
        assert await staying.say("can I return an item")
        assert await finishing.say("what are your hours")
        await ws1.send(json.dumps({"type": "session.end"}))
        await finishing.next("session.ended")
        assert time.monotonic() - sigterm_at < DRAIN_TIMEOUT_S

        # (c) At the timeout the live call is handed over: the frame, then close 1012.
        handover = await staying.next("session.error", timeout_s=DRAIN_TIMEOUT_S + 10)
        handed_over_at = time.monotonic()
        assert handover["code"] == "gateway_draining"
        assert handover["session_id"] == staying_id
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws2.recv(), 5)
        assert ws2.close_code == 1012
        assert handed_over_at - sigterm_at >= DRAIN_TIMEOUT_S

    # ... and resumes on B with its context; the conversation goes on there.
    async with connect(gw_b, keys.gateway) as ws:
        resumed = Caller(ws)
        await ws.send(json.dumps({"type": "session.resume", "session_id": staying_id}))
        ready = await resumed.next("session.ready")
        resumed_at = time.monotonic()
        assert ready["session_id"] == staying_id
        assert ready["config"]["system_prompt"] == "drain-me"
        assert await resumed.say("and what about shipping")
        await ws.send(json.dumps({"type": "session.end"}))
        await resumed.next("session.ended")

    # (d) A exits within its bound, and cleanly.
    code = await exited
    exit_s = time.monotonic() - sigterm_at
    assert code == 0, gw_a.log_tail()
    assert exit_s < EXIT_BOUND_S
    # The dropped call's window (from its drop, during the drain) had to pass before A exited.
    assert exit_s >= RESUME_WINDOW_S
    drained = [line for line in gw_a.log_text().splitlines() if '"drained"' in line]
    assert drained, gw_a.log_tail()
    report = json.loads(drained[-1])
    assert report["drain_handed_over"] == 1 and report["drain_unsettled"] == 0
    print(  # the figures of docs/reliability.md ("Drain")
        f"\nA exited {exit_s:.1f} s after SIGTERM (bound {EXIT_BOUND_S:.0f} s); handover "
        f"{handed_over_at - sigterm_at:.1f} s after SIGTERM; resumed on B "
        f"{resumed_at - handed_over_at:.2f} s after the handover frame; report {report}"
    )
    assert gw_b.stop() == 0  # flushes B's events too

    # (e) The call log: one call.started and one call.ended per call, no event twice.
    calls = {finishing_id, staying_id, dropping_id}
    topic = f"{service_env['KAFKA_TOPIC_PREFIX']}cc.call-events.v1"

    def complete(records: Records) -> bool:
        counts = boundaries(records, calls)
        return all(c["call.started"] and c["call.ended"] for c in counts.values())

    records = await read_topic(
        service_env["KAFKA_BOOTSTRAP_SERVERS"], topic, expect=10**6, timeout_s=20, until=complete
    )
    events = [json.loads(r.value) for r in records]
    ids = Counter(e["event_id"] for e in events)
    assert [i for i, n in ids.items() if n > 1] == []
    counts = boundaries(records, calls)
    assert all(c == {"call.started": 1, "call.ended": 1} for c in counts.values()), counts
    ended = {e["call_id"]: e for e in events if e["type"] == "call.ended"}
    assert ended[finishing_id]["source"] == "gw-a"
    assert (ended[staying_id]["source"], ended[staying_id]["payload"]["reason"]) == (
        "gw-b",
        "client_ended",
    )
    assert (ended[dropping_id]["source"], ended[dropping_id]["payload"]["reason"]) == (
        "gw-a",
        "client_disconnected",
    )
