"""The agent desk page in a real headless Chromium (fake microphone): sign in, an offer, accept.

The desk runs in-process against a real Redis (tests/integration/test_handoff_desk.py has the
stack). The call's "gateway" is a stand-in bridge endpoint on the same server: it redeems the
token from Redis like the gateway does, says ``bridge.ready``, sends a 440 Hz tone as PCM16
24 kHz frames and counts what the page sends back; the end-to-end audio test with the real
gateway belongs to the integration of both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from playwright.async_api import async_playwright
from redis.asyncio import Redis

from services.session.entrypoints.desk import desk_router
from services.session.handoff_desk import HandoffDesk
from shared.bridge_tokens import redeem_bridge_token
from shared.events import EscalationRequested, new_event
from tests.integration.test_handoff_desk import (
    AGENTS,
    KEYS,
    LINE,
    FakeClock,
    FakeContext,
    FakePublisher,
)
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.processes import REPO

ARTIFACTS = REPO / "test-artifacts"
# 60 ms of a 440 Hz tone at 24 kHz, PCM16 LE, about a third of full scale.
TONE = struct.pack(
    "<1440h", *(int(10_000 * math.sin(2 * math.pi * 440 * i / 24_000)) for i in range(1440))
)


@dataclass
class FakeBridge:
    redis: Redis
    prefix: str
    grants: list[Any] = field(default_factory=list)
    bytes_from_agent: int = 0
    ended_by_agent: asyncio.Event = field(default_factory=asyncio.Event)

    def mount(self, app: FastAPI) -> None:
        @app.websocket("/v1/bridge")
        async def bridge(websocket: WebSocket, token: str = "") -> None:
            await websocket.accept()
            grant = await redeem_bridge_token(self.redis, token, prefix=self.prefix)
            if grant is None:
                await websocket.close(1008, "unauthorized")
                return
            self.grants.append(grant)
            ready = {"type": "bridge.ready", "call_id": grant.call_id, "sample_rate": 24000}
            await websocket.send_text(json.dumps({**ready, "encoding": "pcm16"}))
            sender = asyncio.create_task(self._tone(websocket), name="fake-bridge-tone")
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        return
                    if message.get("bytes"):
                        self.bytes_from_agent += len(message["bytes"])
                    elif message.get("text") and json.loads(message["text"]) == {
                        "type": "bridge.end"
                    }:
                        self.ended_by_agent.set()
                        return
            except WebSocketDisconnect:
                return
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await sender

    async def _tone(self, websocket: WebSocket) -> None:
        for _ in range(200):  # 12 s at most
            await websocket.send_bytes(TONE)
            await asyncio.sleep(0.06)


@contextlib.asynccontextmanager
async def desk_server(redis_url: str, prefix: str) -> AsyncIterator[tuple[str, HandoffDesk, Any]]:
    redis = Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    app = FastAPI()
    bridge = FakeBridge(redis, prefix)
    bridge.mount(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve(), name="desk-page-server")
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and not serving.done(), "server did not start"
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    desk = HandoffDesk(
        agents=AGENTS,
        redis=redis,
        publisher=FakePublisher(),
        context=FakeContext(),
        clock=FakeClock(),
        lines={"demo-retail": LINE},
        source="session-test",
        redis_prefix=prefix,
    )
    app.include_router(desk_router(desk))
    await desk.start()
    try:
        yield base, desk, bridge
    finally:
        await desk.aclose()
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        await redis.aclose()


@pytest.mark.slow
async def test_an_agent_signs_in_sees_an_offer_accepts_and_talks(infra, unique) -> None:
    async with desk_server(infra.redis_url, f"t{unique}:") as (base, desk, bridge):
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=FLAGS,
            )
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await page.goto(f"{base}/desk")
                assert await page.title() == "Switchboard agent desk"
                await page.fill("#key", KEYS["alice"])
                await page.click("#sign-in-button")
                await page.wait_for_selector("#agent-name:has-text('Alice')", timeout=5_000)
                assert KEYS["alice"] not in page.url
                stored = await page.evaluate("sessionStorage.getItem('switchboard.deskKey')")
                assert stored == KEYS["alice"]
                await page.check("#available")
                await page.wait_for_function("window.deskState.available === true")

                escalation = EscalationRequested(
                    rule_id="asked_for_person",
                    reasons=["asked for a person twice"],
                    queue="retail-support",
                    priority=40,
                )
                envelope = new_event(
                    escalation, call_id="call-web", line_id="demo-retail", source="rules"
                )
                await desk.enqueue(envelope, escalation, gateway_url=base)
                await page.wait_for_selector("#offer:not([hidden])", timeout=5_000)
                assert await page.inner_text("#offer-queue") == "retail-support"
                assert await page.inner_text("#offer-priority") == "40"
                assert await page.inner_text("#offer-summary") == "Summary of call-web"
                assert "asked for a person twice" in await page.inner_text("#offer-reasons")
                assert "<ORDER_ID>" in await page.inner_text("#offer-transcript")
                countdown = int(await page.inner_text("#offer-countdown"))
                assert 15 <= countdown <= 20
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "desk-offer.png"), full_page=True)

                await page.click("#accept")
                await page.wait_for_selector("#call-state:has-text('connected')", timeout=5_000)
                await page.wait_for_function(
                    "window.deskState.framesSent > 10 && window.deskState.framesReceived > 10",
                    timeout=10_000,
                )
                # The microphone goes out at 24 kHz whatever the device's rate: 60 ms frames.
                before = await page.evaluate("window.deskState.framesSent")
                await asyncio.sleep(2.0)
                frames_in_2s = await page.evaluate("window.deskState.framesSent") - before
                state = await page.evaluate("window.deskState")
                await page.screenshot(path=str(ARTIFACTS / "desk-call.png"), full_page=True)
                await page.click("#end-call")
                await page.wait_for_selector("#call", state="hidden", timeout=5_000)
                await asyncio.wait_for(bridge.ended_by_agent.wait(), 3)
            finally:
                await browser.close()
    assert [(g.call_id, g.agent_id, g.queue) for g in bridge.grants] == [
        ("call-web", "alice", "retail-support")
    ]
    assert state["audioBytesSent"] == state["framesSent"] * 2880  # 60 ms frames
    assert bridge.bytes_from_agent >= state["audioBytesSent"] - 2880 * 5
    assert state["audioBytesReceived"] >= 10 * len(TONE)
    # The tone arrived as sound: its RMS is 10000 / sqrt(2) / 32768, about 0.216.
    assert 0.18 < state["receivedRmsMax"] < 0.25
    assert 28 <= frames_in_2s <= 39, frames_in_2s  # 33 expected; a wrong rate is far off
    assert state["sentRmsMax"] > 0.01  # Chromium's fake microphone beeps
