"""The gateway's drain, the parts that need no process: its budget and frames, the handover of
one connection to the session store, the early end of a dropped call's wait once another gateway
has claimed it, and readiness while draining."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI

from services.gateway import handlers
from services.gateway.dialogue.service import DialogueService
from services.gateway.domain import drain as budget
from services.gateway.domain.actions import Close
from services.gateway.domain.drain import DrainBudget, handover_frame, refusal_frame
from services.gateway.domain.session import VoiceSession, new_session_id
from services.gateway.entrypoints import drain as drain_module
from services.gateway.entrypoints.connection import CallConnection
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.entrypoints.drain import drain
from services.gateway.settings import GatewaySettings
from shared import service_main
from shared.auth import KeyRing
from shared.events import CallEnded, Envelope
from shared.http.app import health_router
from shared.lines import load_lines
from tests.support.fakes import FakeSessionStore, FakeTokenStore

REPO = Path(__file__).resolve().parents[2]


class Published:
    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def publish(self, topic: str, event: Envelope) -> bool:
        self.events.append(event)
        return True


def context(store: FakeSessionStore, **settings: float) -> GatewayContext:
    return GatewayContext(
        settings=GatewaySettings(GATEWAY_ID="gw-a", **settings),  # type: ignore[arg-type]
        keyring=KeyRing.from_spec(""),
        lines=load_lines(),
        events=Published(),
        sessions=store,
        tokens=FakeTokenStore(),
        dialogue=DialogueService(llm=None, tool_client=None),  # type: ignore[arg-type]
        phone_grants=None,  # type: ignore[arg-type]
    )


def live_connection(ctx: GatewayContext) -> CallConnection:
    lines = ctx.lines
    session = VoiceSession(
        session_id=new_session_id(), line=lines["demo-retail"], lines=lines,
        started_at=time.time(), max_session_s=3600, max_frame_bytes=65536, voice=False,
    )  # fmt: skip
    session.on_frame('{"type": "session.update", "session": {"system_prompt": "keep"}}', 0.0)
    assert session.state == "ready"
    return CallConnection(None, ctx, session, "owner")  # type: ignore[arg-type]


def test_the_shutdown_bound_adds_up_every_step() -> None:
    b = DrainBudget(drain_timeout_s=30, resume_window_s=30)
    assert b.drain_s == 30 + b.handover_s + 30 + budget.SETTLE_MARGIN_S
    assert b.shutdown_s == b.drain_s + budget.GRACEFUL_S + budget.FLUSH_S + budget.CLOSE_REST_S
    # The budget counts uvicorn's own wait as the server is really configured.
    assert budget.GRACEFUL_S == service_main.GRACEFUL_SHUTDOWN_S


def test_compose_gives_the_gateway_time_to_drain_with_its_default_settings() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    grace = compose["services"]["gateway"]["stop_grace_period"]
    settings = GatewaySettings()
    needed = DrainBudget(settings.drain_timeout_s, settings.resume_window_s).shutdown_s
    assert grace.endswith("s") and float(grace[:-1]) >= needed


def test_the_frames_say_draining_and_the_handover_names_the_session() -> None:
    assert refusal_frame()["code"] == "gateway_draining"
    frame = handover_frame("sess_1", 30)
    assert (frame["type"], frame["code"], frame["session_id"]) == (
        "session.error",
        "gateway_draining",
        "sess_1",
    )
    assert "30 s" in frame["message"]


async def test_a_handover_saves_the_session_as_dropped_then_tells_the_client_and_closes_1012() -> (
    None
):
    store = FakeSessionStore()
    conn = live_connection(context(store))
    assert await conn.hand_over(handover_frame(conn.session.session_id, 30), settle_s=0.1)
    saved = await store.load(conn.session.session_id)
    assert saved is not None and (saved.state, saved.gateway_id) == ("dropped", "gw-a")
    assert saved.config["system_prompt"] == "keep"
    queued = drain_outbox(conn)
    assert queued[-2]["code"] == "gateway_draining"  # type: ignore[index]
    assert queued[-1] == Close(1012, "gateway_draining")


async def test_once_handed_over_the_connection_never_writes_over_a_claim_elsewhere() -> None:
    store = FakeSessionStore()
    conn = live_connection(context(store))
    assert await conn.hand_over(handover_frame(conn.session.session_id, 30), settle_s=0.1)
    assert await store.claim(conn.session.session_id, "gw-b") is not None
    conn.session.on_frame('{"type": "input.text", "text": "late"}', 1.0)
    assert await conn.checkpoint(dropped=True)  # nothing written: the claim stands
    found = await store.load(conn.session.session_id)
    assert found is not None and (found.state, found.gateway_id) == ("live", "gw-b")


async def test_a_dropped_call_claimed_elsewhere_stops_waiting_before_its_window() -> None:
    store = FakeSessionStore()
    conn = live_connection(context(store))
    assert await conn.checkpoint(dropped=True)
    session_id = conn.session.session_id
    waiting = asyncio.create_task(
        handlers.end_if_not_resumed(
            session_id, store=store, window_s=30, gateway_id="gw-a", poll_s=0.02
        )
    )
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await store.claim(session_id, "gw-b")
    assert await asyncio.wait_for(waiting, 1) is None


async def test_a_dropped_call_nobody_claims_ends_after_its_window() -> None:
    store = FakeSessionStore()
    conn = live_connection(context(store))
    assert await conn.checkpoint(dropped=True)
    started = time.monotonic()
    ended = await handlers.end_if_not_resumed(
        conn.session.session_id, store=store, window_s=0.2, gateway_id="gw-a", poll_s=0.05
    )
    assert isinstance(ended, CallEnded) and ended.reason == "client_disconnected"
    assert time.monotonic() - started >= 0.2
    assert await store.load(conn.session.session_id) is None


async def test_a_gateway_with_no_calls_drains_at_once() -> None:
    ctx = context(FakeSessionStore(), GATEWAY_DRAIN_TIMEOUT_S=30)
    report = await asyncio.wait_for(drain(ctx), 2)
    assert ctx.draining and ctx.handing_over
    assert (report.handed_over, report.ended, report.pending_ends) == (0, 0, 0)


async def test_readiness_answers_503_draining_whatever_the_dependencies_say() -> None:
    state = {"draining": False}

    async def answers() -> bool:
        return True

    app = FastAPI()
    app.include_router(health_router({"redis": answers}, draining=lambda: state["draining"]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        assert (await client.get("/readyz")).status_code == 200
        state["draining"] = True
        response = await client.get("/readyz")
        assert (response.status_code, response.json()["status"]) == (503, "draining")
        assert (await client.get("/healthz")).status_code == 200  # alive all the same


async def test_at_the_timeout_an_api_session_is_handed_over_and_a_phone_call_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(drain_module, "GOODBYE_S", 0.3)
    store = FakeSessionStore()
    ctx = context(store, GATEWAY_DRAIN_TIMEOUT_S=0)
    api, phone = live_connection(ctx), live_connection(ctx)
    phone.resumable = False
    for conn in (api, phone):
        conn.settled = asyncio.get_running_loop().create_future()  # (hold_call's, not run here)
        ctx.calls[conn.session.session_id] = conn.control
    report = await asyncio.wait_for(drain(ctx), 5)
    assert (report.handed_over, report.ended) == (1, 1)
    saved = await store.load(api.session.session_id)
    assert saved is not None and saved.state == "dropped"
    assert api.session.state == "ready"  # it lives on elsewhere: no call.ended from here
    ended = [e for e in ctx.events.events if e.type == "call.ended"]  # type: ignore[attr-defined]
    assert [(e.call_id, e.payload["reason"]) for e in ended] == [
        (phone.session.session_id, "gateway_shutdown")
    ]
    said = [
        f for f in drain_outbox(phone) if isinstance(f, dict) and f["type"] == "transcript.agent"
    ]
    assert said and "end this call" in said[-1]["text"]


def drain_outbox(conn: CallConnection) -> list[object]:
    return [conn.outbox.get_nowait() for _ in range(conn.outbox.qsize())]
