"""The live hub: batches, watched timelines, and a client that falls behind (fake queries)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest

from services.analytics.domain.live_board import LiveBoard
from services.analytics.domain.live_kpis import KpiInputs
from services.analytics.live_hub import ClientStuckError, LiveHub
from shared.events import CallStarted, Envelope, TranscriptUser, new_event


class FakeLiveQueries:
    def __init__(self) -> None:
        self.inputs = KpiInputs()
        self.opened: list[tuple[Envelope, dict[str, Any]]] = []

    async def open_calls(
        self, since: datetime, *, limit: int
    ) -> list[tuple[Envelope, dict[str, Any]]]:
        return self.opened

    async def kpi_inputs(self, since: datetime) -> KpiInputs:
        return self.inputs


def _event(call_id: str, payload: Any) -> tuple[Envelope, dict[str, Any]]:
    envelope = new_event(payload, call_id=call_id, source="gw", line_id="demo-retail")
    return envelope, payload.model_dump(mode="json")


async def _nothing(_: str) -> None:
    return None


def _drained(queue: asyncio.Queue[str]) -> list[dict[str, Any]]:
    out = []
    while not queue.empty():
        out.append(json.loads(queue.get_nowait()))
    return out


def test_a_client_gets_a_snapshot_then_batched_rows_and_its_watched_timeline() -> None:
    hub = LiveHub(LiveBoard(), FakeLiveQueries())
    client = hub.join(_nothing)
    assert [m["type"] for m in _drained(client.queue)] == ["snapshot"]
    hub.apply([_event("s", CallStarted(channel="text", line_id="demo-retail"))])
    hub.apply([_event("s", TranscriptUser(item_id="i1", text="hi"))])
    hub.flush()
    (calls,) = _drained(client.queue)
    assert calls["type"] == "calls" and [r["call_id"] for r in calls["upserts"]] == ["s"]
    client.watch("s")
    (call,) = _drained(client.queue)
    assert call["type"] == "call" and [i["id"] for i in call["items"]] == ["user:i1"]
    hub.apply([_event("s", TranscriptUser(item_id="i2", text="there"))])
    hub.flush()
    messages = _drained(client.queue)
    assert [m["type"] for m in messages] == ["calls", "items"]
    assert [i["id"] for i in messages[1]["items"]] == ["user:i2"]


def test_a_client_that_falls_behind_gets_one_fresh_snapshot_instead_of_its_queue() -> None:
    hub = LiveHub(LiveBoard(), FakeLiveQueries(), queue_size=4)
    client = hub.join(_nothing)
    for n in range(10):
        hub.apply([_event(f"c{n}", CallStarted(channel="text", line_id="demo-retail"))])
        hub.flush()
    messages = _drained(client.queue)
    assert len(messages) <= 4 and client.resyncs >= 1
    snapshots = [m for m in messages if m["type"] == "snapshot"]
    assert snapshots and len(snapshots[-1]["calls"]) >= 7


def test_the_hub_refuses_connections_beyond_its_bound() -> None:
    hub = LiveHub(LiveBoard(), FakeLiveQueries(), max_clients=2)
    assert hub.reserve() and hub.reserve() and not hub.reserve()
    hub.release()
    assert hub.reserve()


async def test_a_send_that_hangs_past_the_timeout_marks_the_client_stuck() -> None:
    async def hang(_: str) -> None:
        await asyncio.sleep(10)

    hub = LiveHub(LiveBoard(), FakeLiveQueries(), send_timeout_s=0.05)
    client = hub.join(hang)
    with pytest.raises(ClientStuckError):
        await client.pump()


async def test_kpis_are_computed_once_and_broadcast_with_the_active_calls() -> None:
    queries = FakeLiveQueries()
    queries.inputs.total.calls = 7
    hub = LiveHub(LiveBoard(), queries)
    hub.apply([_event("s", CallStarted(channel="text", line_id="demo-retail"))])
    client = hub.join(_nothing)
    _drained(client.queue)
    await hub.refresh_kpis()
    (message,) = _drained(client.queue)
    assert message["type"] == "kpis"
    assert message["kpis"]["calls"] == 7 and message["kpis"]["active_calls"] == 1
