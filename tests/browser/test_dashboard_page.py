"""The supervisor dashboard page in a real headless Chromium.

First against the real analytics process: without a key only the sign-in shows, a refused key
is an error, the page's modules and the uPlot vendor file load with no console error (the
Content-Security-Policy would log one). Then the page's own behaviour against the documented
live feed (docs/dashboard.md), played by Playwright in place of the server: a hundred rows
updated in place, sorting and filtering, an alert, one call's timeline with server text shown
as text, the controls' requests and errors, an analyst key, and a reconnect that resyncs. The
end-to-end tests with the real live feed come with it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, Route, WebSocketRoute, async_playwright

from infra.localstack.infrastructure import free_port
from services.analytics.entrypoints import dashboard
from tests.conftest import Keys
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.processes import REPO, ServiceProcess

ARTIFACTS = REPO / "test-artifacts"
WHOAMI = "**/v1/live/whoami"


@pytest.fixture
def analytics(service_env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess("analytics", free_port(), service_env, log_dir).start()
    try:
        proc.wait_ready(120)
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


def watch_console(page: Page) -> list[str]:
    """Console errors and uncaught exceptions, except the refused API requests the test asks for
    (Chromium logs each non-2xx answer to fetch as an error)."""
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and "/v1/live/" not in message.location.get("url", ""):
            errors.append(f"{message.text} at {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def test_signed_out_the_page_shows_only_the_sign_in_and_refuses_a_wrong_key(
    analytics: ServiceProcess, browser: Browser, keys: Keys
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = watch_console(page)
    loaded: dict[str, int] = {}
    page.on(
        "response", lambda r: loaded.__setitem__(r.url.split("/dashboard/static/")[-1], r.status)
    )
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    await page.goto(f"{analytics.url}/dashboard")
    assert await page.title() == "Switchboard supervisor dashboard"
    await page.wait_for_function(
        "() => window.dashboardState && window.dashboardState.phase === 'signed_out'"
    )
    assert await page.is_visible("#sign-in-form")
    for hidden in ("#live", "#no-live", "#who", "#sign-in-error"):
        assert await page.is_hidden(hidden), hidden
    modules = [n for n in dashboard.ASSETS if n.endswith(".js")]
    for name in [*modules, "dashboard.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"]:
        assert loaded.get(name) == 200, (name, loaded.get(name))
    assert await page.evaluate("typeof window.uPlot") == "function"
    assert await page.evaluate("window.dashboardState.chartsAvailable") is True

    await page.fill("#key", "sb_supervisor_not-a-key")
    await page.click("#sign-in-button")
    await page.wait_for_selector("#sign-in-error:has-text('not accepted')", timeout=5_000)
    assert await page.evaluate("sessionStorage.getItem('switchboard.supervisorKey')") is None
    assert await page.is_hidden("#live") and await page.is_hidden("#who")
    assert not [u for u in urls if "not-a-key" in u or keys.supervisor in u]
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard-sign-in.png"), full_page=True)
    assert errors == []


# ---- the page against a scripted live feed ------------------------------------------------------


@pytest.fixture
async def page_server() -> AsyncIterator[str]:
    """Only the dashboard's routes, in this process: the page's behaviour, not the server's."""
    app = FastAPI()
    app.include_router(dashboard.router)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(), name="dashboard-page-server")
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and not serving.done(), "server did not start"
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    await asyncio.wait_for(serving, 10)


def iso(seconds_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def call_row(n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "call_id": f"call-{n:03d}",
        "line_id": "demo-retail" if n % 2 else "demo-bank",
        "channel": "voice_agent" if n % 3 else "twilio",
        "started_at": iso(60 + n),
        "ended": False,
        "state": "listening",
        "turns": 2,
        "sentiment": [0.2, -0.1, -0.4],
        "risk": {"score": round(n / 200, 3), "reasons": ["negative sentiment"]},
        "escalated": False,
        "last_v2v_ms": 700 + n,
        "agent_id": None,
    }
    return {**row, **changes}


KPIS = {
    "window_s": 3600,
    "active_calls": 100,
    "calls": 240,
    "containment": 0.8,
    "escalation_rate": 0.125,
    "v2v_p95_ms": 910,
    "tool_error_rate": 0.02,
    "series": [
        {"minute": iso(60 * (60 - i)), "calls": i % 7, "v2v_p95_ms": 800 + i} for i in range(60)
    ],
}
XSS = '<img src=x id="injected"> my email is <EMAIL_ADDRESS>'
ITEMS = [
    {"kind": "user", "id": "user:1", "at": iso(30), "text": XSS},
    {"kind": "agent", "id": "agent:r1", "at": iso(29), "text": "Let me", "interrupted": True},
    {"kind": "interruption", "id": "int:1", "at": iso(28), "reply_id": "r1", "played_ms": 1200},
    {"kind": "tool", "id": "tool:t1", "at": iso(27), "name": "lookup_order", "status": "running",
     "duration_ms": None},
    {"kind": "turn", "id": "turn:1", "at": iso(26), "turn": 1, "v2v_ms": 840,
     "stages_ms": {"stt": 200, "llm": 400, "tts": 240}},
    {"kind": "escalation", "id": "esc:1", "at": iso(25), "rule_id": "asked_for_person",
     "reasons": ["asked for a person twice"], "priority": 40,
     "evidence": [{"signal": "asked_for_person", "detail": "twice", "value": 2, "threshold": 2}]},
    {"kind": "control", "id": "control:c1", "at": iso(24), "command": "whisper",
     "issued_by": "supervisor:0123456789ab", "ok": True, "detail": ""},
]  # fmt: skip


class ScriptedFeed:
    """Plays the server's side of WS /v1/live/ws and records what the page sent."""

    def __init__(self, calls: list[dict[str, Any]]) -> None:
        self.calls = calls
        self.sockets: list[WebSocketRoute] = []
        self.received: list[dict[str, Any]] = []

    def handle(self, ws: WebSocketRoute) -> None:
        self.sockets.append(ws)
        ws.on_message(lambda text: self.on_message(ws, text))

    def on_message(self, ws: WebSocketRoute, text: str | bytes) -> None:
        message = json.loads(text)
        self.received.append(message)
        if message["type"] == "auth":
            snapshot = {"type": "snapshot", "server_time": iso(), "calls": self.calls}
            ws.send(json.dumps({**snapshot, "alerts": [], "kpis": KPIS}))
        elif message["type"] == "watch":
            row = next(c for c in self.calls if c["call_id"] == message["call_id"])
            ws.send(json.dumps({"type": "call", "call": row, "items": ITEMS}))

    def send(self, message: dict[str, Any]) -> None:
        self.sockets[-1].send(json.dumps(message))


async def whoami_says(page: Page, body: dict[str, Any], seen: list[str]) -> None:
    async def answer(route: Route) -> None:
        seen.append(route.request.headers.get("authorization", ""))
        await route.fulfill(status=200, json=body)

    await page.route(WHOAMI, answer)


async def sign_in(page: Page, base: str, key: str) -> None:
    await page.goto(f"{base}/dashboard")
    await page.fill("#key", key)
    await page.click("#sign-in-button")


async def test_the_live_view_renders_a_hundred_calls_in_place_and_one_call_in_full(
    page_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1600, "height": 1000})
    errors = watch_console(page)
    feed = ScriptedFeed([call_row(n) for n in range(100)])
    await page.route_web_socket("**/v1/live/ws", feed.handle)
    seen: list[str] = []
    await whoami_says(page, {"roles": ["supervisor"], "live": True}, seen)
    await sign_in(page, page_server, "sb_supervisor_k1")
    await page.wait_for_function("() => window.dashboardState.rows === 100", timeout=5_000)
    assert seen == ["Bearer sb_supervisor_k1"]
    assert feed.received[0] == {"type": "auth", "key": "sb_supervisor_k1"}
    assert "sb_supervisor_k1" not in page.url
    assert await page.inner_text("#calls-count") == "100"
    assert await page.inner_text(".tile-containment .value") == "80%"
    assert await page.inner_text(".tile-v2v_p95_ms .value") == "910 ms"
    assert await page.locator("#kpi-chart .uplot").count() == 1
    # Riskiest first by default.
    assert await page.get_attribute("#calls-body tr:first-child", "data-call-id") == "call-099"

    # An update changes the row in place (the same element), and moves it when the sort says so.
    await page.evaluate("window.row7 = document.querySelector('tr[data-call-id=\"call-007\"]')")
    changed = call_row(7, state="tool_running", risk={"score": 0.95, "reasons": ["tool errors"]})
    feed.send({"type": "calls", "upserts": [changed], "removed": ["call-050"]})
    await page.wait_for_function("() => window.dashboardState.rows === 99")
    # Moved up within the resort interval (2 s: rows do not jump on every batch).
    await page.wait_for_selector("#calls-body tr:first-child[data-call-id=call-007]")
    first = page.locator("#calls-body tr:first-child")
    assert await page.evaluate("window.row7 === document.querySelector('#calls-body tr')")
    assert "tool running" in await first.inner_text() and "tool errors" in await first.inner_text()
    # Updates that keep the order touch cells only: no row is added, removed or moved.
    await page.evaluate(
        """() => {
            window.rowMoves = 0;
            new MutationObserver((records) => { window.rowMoves += records.length; })
                .observe(document.querySelector('#calls-body'), {childList: true});
        }"""
    )
    for n in range(8, 28):
        feed.send({"type": "calls", "upserts": [call_row(n, last_v2v_ms=2000 + n)], "removed": []})
    await page.wait_for_selector("tr[data-call-id=call-027] td.col-v2v:has-text('2027 ms')")
    assert await page.evaluate("window.rowMoves") == 0

    await page.click("th[data-sort=line_id] button")
    assert await page.get_attribute("th[data-sort=line_id]", "aria-sort") == "ascending"
    assert "demo-bank" in await first.inner_text()
    await page.fill("#filter", "twilio")
    await page.wait_for_function(
        "() => document.querySelector('#calls-count').textContent === '34 of 99'"
    )

    feed.send({"type": "alert", "alert": {
        "id": "a1", "at": iso(), "call_id": "call-003", "line_id": "demo-retail",
        "kind": "escalation", "rule_id": "asked_for_person", "reasons": ["asked twice"],
        "priority": 40}})  # fmt: skip
    await page.wait_for_selector("#alert-list li:has-text('asked twice')")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-live.png"), full_page=True)

    await page.click("#alert-list button[data-call-id=call-003]")
    await page.wait_for_selector("#call:not([hidden]) #tools li")
    assert {"type": "watch", "call_id": "call-003"} in feed.received
    transcript = await page.inner_text("#transcript")
    assert XSS in transcript and await page.locator("#injected").count() == 0
    assert await page.locator("#transcript .turn.agent.interrupted").count() == 1
    assert "interrupted the agent after 1.2 s" in transcript
    assert "running" in await page.inner_text("#tools")
    assert "twice" in await page.inner_text("#escalations .evidence")
    assert "840 ms" in await page.inner_text("#latency")
    assert "supervisor:0123456789ab" in await page.inner_text("#timeline")
    done = {**ITEMS[3], "status": "ok", "duration_ms": 312}
    feed.send({"type": "items", "call_id": "call-003", "items": [done]})
    await page.wait_for_selector("#tools li:has-text('312 ms')")
    assert await page.locator("#tools li").count() == 1  # replaced by its id, not added
    await page.screenshot(path=str(ARTIFACTS / "dashboard-call.png"), full_page=True)
    # A wall screen: large text, the open call beside the list.
    await page.set_viewport_size({"width": 2560, "height": 1440})
    await page.check("#large-text")
    assert await page.evaluate("document.documentElement.classList.contains('large')")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-wall.png"))
    assert errors == []


async def test_the_controls_send_the_key_in_a_header_and_show_each_answer(
    page_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors = watch_console(page)
    feed = ScriptedFeed([call_row(n) for n in range(3)])
    await page.route_web_socket("**/v1/live/ws", feed.handle)
    await whoami_says(page, {"roles": ["supervisor"], "live": True}, [])
    posts: list[tuple[str, str, Any]] = []
    answers = {"whisper": (202, {"command_id": "cmd-1"}), "takeover": (404, {"detail": "x"})}

    async def control(route: Route) -> None:
        command = route.request.url.rsplit("/", 1)[-1]
        auth = route.request.headers.get("authorization", "")
        posts.append((command, auth, route.request.post_data_json))
        status, body = answers.get(command, (503, {"detail": "broker unreachable"}))
        await route.fulfill(status=status, json=body)

    await page.route("**/v1/live/calls/*/*", control)
    await sign_in(page, page_server, "sb_supervisor_k2")
    await page.click("tr[data-call-id=call-001]")
    await page.wait_for_selector("#call:not([hidden]) #transcript li")

    await page.fill("#whisper-text", "offer the refund now")
    await page.click("#whisper-send")
    await page.wait_for_selector("#control-status:has-text('whisper sent (command cmd-1)')")
    await page.click("#takeover")
    await page.fill("#takeover-agent", "alice")
    await page.click("#takeover-form button[type=submit]")
    await page.wait_for_selector("#control-status.error:has-text('no longer live')")
    await page.click("#end-call")
    await page.click("#end-form button[data-close]")  # cancelled: nothing is sent
    await page.click("#end-call")
    await page.fill("#end-say", "goodbye")
    await page.click("#end-form button[type=submit]")
    await page.wait_for_selector("#control-status.error:has-text('message bus is unreachable')")
    bearer = "Bearer sb_supervisor_k2"
    assert posts == [
        ("whisper", bearer, {"text": "offer the refund now"}),
        ("takeover", bearer, {"agent_id": "alice"}),
        ("end", bearer, {"say": "goodbye"}),
    ]

    # The call ends: no more controls. The feed drops: the page reconnects, resyncs, re-watches.
    feed.send({"type": "calls", "upserts": [call_row(1, ended=True, state="ended")], "removed": []})
    await page.wait_for_selector("#whisper-send:disabled")
    assert await page.is_disabled("#end-call") and await page.is_disabled("#takeover")
    await feed.sockets[-1].close(code=1011, reason="restart")
    await page.wait_for_function("() => window.dashboardState.snapshots === 2", timeout=5_000)
    watches = [m for m in feed.received if m == {"type": "watch", "call_id": "call-001"}]
    assert len(feed.sockets) == 2 and len(watches) == 2

    await page.click("#sign-out")
    await page.wait_for_selector("#sign-in-form")
    assert await page.evaluate("sessionStorage.getItem('switchboard.supervisorKey')") is None
    assert await page.is_hidden("#live")
    assert errors == []


async def test_an_analyst_key_gets_no_live_view_and_a_refused_socket_signs_out(
    page_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    errors = watch_console(page)
    feed = ScriptedFeed([])
    await page.route_web_socket("**/v1/live/ws", feed.handle)
    await whoami_says(page, {"roles": ["analyst"], "live": False}, [])
    await sign_in(page, page_server, "sb_analyst_k3")
    await page.wait_for_selector("#no-live:has-text('This key has no live view')")
    assert await page.is_hidden("#live") and await page.is_hidden("#sign-in")
    assert await page.is_visible("#sign-out")
    await page.screenshot(path=str(ARTIFACTS / "dashboard-analyst.png"), full_page=True)
    assert feed.sockets == []  # nothing live was even asked for

    # whoami let the key in but the live feed refuses it (revoked since): back to the sign-in.
    await page.unroute(WHOAMI)
    await whoami_says(page, {"roles": ["supervisor"], "live": True}, [])
    feed.on_message = lambda ws, text: feed.received.append(json.loads(text))  # type: ignore[method-assign]
    await page.click("#sign-out")
    await sign_in(page, page_server, "sb_supervisor_revoked")
    await page.wait_for_function("() => window.dashboardState.connection === 'connecting'")
    deadline = time.monotonic() + 5
    while not feed.received:
        assert time.monotonic() < deadline, "the page sent no auth message"
        await asyncio.sleep(0.05)
    await feed.sockets[-1].close(code=1008, reason="unauthorized")
    await page.wait_for_selector("#sign-in-error:has-text('not accepted')")
    assert len(feed.sockets) == 1  # refused: no reconnecting with the same key
    assert errors == []


async def test_without_the_vendor_file_the_page_says_charts_are_unavailable_and_works(
    page_server: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.route("**/vendor/*", lambda route: route.fulfill(status=404, body="not found"))
    feed = ScriptedFeed([call_row(n) for n in range(5)])
    await page.route_web_socket("**/v1/live/ws", feed.handle)
    await whoami_says(page, {"roles": ["supervisor"], "live": True}, [])
    await sign_in(page, page_server, "sb_supervisor_k4")
    await page.wait_for_function("() => window.dashboardState.rows === 5", timeout=5_000)
    assert (
        await page.inner_text("#kpi-chart")
        == "charts unavailable (run make vendor to install uPlot)"
    )
    assert await page.inner_text(".tile-calls .value") == "240"
