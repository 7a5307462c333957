"""The supervisor dashboard against the real platform, in headless Chromium (issue 9's acceptance).

A scripted call runs through a real gateway (in this process, so its dialogue model can be the
scripted one that follows a whisper), with the real session service (escalation rules) and the
real analytics service (live feed, redaction, controls) as processes, over the real broker,
Postgres and Redis. The supervisor signs in on the page: the call appears in the live list within
a second of its ``call.started``; its transcript grows turn by turn, redacted; a whisper typed on
the page changes the agent's next answer; asking for a person raises an escalation alert. A
screenshot of each view is saved to ``test-artifacts/``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import websockets
from playwright.async_api import Page, async_playwright

from infra.localstack.infrastructure import free_port
from services.gateway.bootstrap import create_app
from services.gateway.entrypoints.context import GatewayContext
from services.gateway.settings import GatewaySettings
from shared.auth import hash_key
from shared.events import Envelope
from shared.settings import AuthSettings, KafkaSettings, RedisSettings
from tests.conftest import Keys
from tests.e2e.test_call_control import PLAIN_ANSWER, WHISPER, WHISPERED_ANSWER, ScriptedModel
from tests.e2e.test_handoff import DESK_KEY, Desk
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.calls import Caller
from tests.support.processes import REPO, ServiceProcess, running
from tests.support.serving import serving
from tests.support.tools import Tail
from tests.support.waiting import wait_until

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
async def gateway_port(
    service_env: dict[str, str], kafka: KafkaSettings, keys: Keys
) -> AsyncIterator[int]:
    """The gateway in this process, its dialogue model the scripted one."""
    port = free_port()
    settings = GatewaySettings(
        GATEWAY_PORT=port,
        GATEWAY_ID=service_env["GATEWAY_ID"],
        GATEWAY_VOICE="off",
        kafka=kafka,
        redis=RedisSettings(
            REDIS_URL=service_env["REDIS_URL"], REDIS_KEY_PREFIX=service_env["REDIS_KEY_PREFIX"]
        ),
        auth=AuthSettings(AUTH_KEY_HASHES=keys.hashes),
    )
    app = create_app(settings)
    ctx: GatewayContext = app.state.context
    ctx.dialogue.llm = ScriptedModel()
    async with serving(app, port):
        # Commands reach the call only once the gateway's control consumer has joined.
        assert await wait_until(lambda: app.state.control.runner.running, 30)
        yield port


@pytest.fixture
def services(
    service_env: dict[str, str], log_dir: Path, unique: str
) -> Iterator[dict[str, ServiceProcess]]:
    env = {
        **service_env,
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "SESSION_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}",
        "SESSION_AGENTS_FILE": str(REPO / "config" / "agents.yaml"),
        "DESK_KEY_HASH": hash_key(DESK_KEY),
    }
    procs = {
        name: ServiceProcess(name, free_port(), env, log_dir) for name in ("analytics", "session")
    }
    with running(procs):
        yield procs


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"dashboard-live-{name}.png"), full_page=True)


def started_of(tail: Tail, call_id: str) -> list[Envelope]:
    return [e for e in tail.envelopes() if e.type == "call.started" and e.call_id == call_id]


async def turns_shown(page: Page) -> int:
    return await page.locator("#transcript li.turn").count()


async def test_a_supervisor_watches_steers_and_is_alerted_on_a_live_call(
    services: dict[str, ServiceProcess],
    gateway_port: int,
    kafka: KafkaSettings,
    keys: Keys,
) -> None:
    analytics = services["analytics"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page(viewport={"width": 1440, "height": 900})
        await page.goto(f"{analytics.url}/dashboard")
        await page.fill("#key", keys.supervisor)
        await page.click("#sign-in-button")
        await page.wait_for_selector("#live:not([hidden])")
        await page.wait_for_function("() => window.dashboardState.phase === 'live'")
        # Record, in the page, when each call's row first appears (epoch ms).
        await page.evaluate(
            """() => {
                window.rowSeenAt = {};
                new MutationObserver(() => {
                    for (const tr of document.querySelectorAll('#calls-body tr[data-call-id]')) {
                        window.rowSeenAt[tr.dataset.callId] ??= Date.now();
                    }
                }).observe(document.querySelector('#calls-body'), {childList: true});
            }"""
        )
        await shot(page, "empty")

        topic = kafka.topic("cc.call-events.v1")
        url = f"ws://127.0.0.1:{gateway_port}/v1/ws"
        async with (
            Tail(kafka.bootstrap_servers, topic).running() as tail,
            websockets.connect(
                url, additional_headers={"Authorization": f"Bearer {keys.gateway}"}
            ) as ws,
        ):
            caller = Caller(ws)
            call_id = await caller.ready()
            row = f"#calls-body tr[data-call-id='{call_id}']"
            await page.wait_for_selector(row, timeout=10_000)
            await tail.wait_for(lambda: started_of(tail, call_id), 10)
            started = started_of(tail, call_id)
            seen_ms = await page.evaluate(f"window.rowSeenAt['{call_id}']")
            lag_s = seen_ms / 1000 - started[0].occurred_at.timestamp()
            assert lag_s <= 1.0, f"the row appeared {lag_s:.2f} s after call.started"
            # The active-calls tile counts it at once (the other KPI tiles refresh every 5 s).
            assert await page.inner_text(".tile-active_calls .value") == "1"
            await shot(page, "calls")

            # One call: its transcript grows turn by turn, the caller's email redacted.
            await page.click(row)
            await page.wait_for_selector("#call:not([hidden]) #transcript li.turn")
            before = await turns_shown(page)
            assert await caller.answer_to("my email is jane.doe@example.com") == PLAIN_ANSWER
            await page.wait_for_function(
                f"() => document.querySelectorAll('#transcript li.turn').length >= {before + 2}"
            )
            transcript = await page.inner_text("#transcript")
            assert "jane.doe@example.com" not in transcript and "[EMAIL_ADDRESS]" in transcript
            await shot(page, "call")

            # A whisper typed on the page changes the agent's next answer; it is audited.
            await page.fill("#whisper-text", WHISPER)
            await page.click("#whisper-send")
            await page.wait_for_selector("#control-status:has-text('whisper sent')")
            await page.wait_for_selector("#timeline li:has-text('whisper')", timeout=10_000)
            assert await caller.answer_to("what do you recommend") == WHISPERED_ANSWER
            await page.wait_for_selector(
                f"#transcript li.turn.agent:has-text('{WHISPERED_ANSWER}')"
            )
            assert "supervisor:" in await page.inner_text("#timeline")

            # Asking for a person: the session service escalates, the page raises an alert.
            await ws.send('{"type": "input.text", "text": "I want to talk to a real person now"}')
            await page.wait_for_selector(
                f"#alert-list li button[data-call-id='{call_id}']", timeout=15_000
            )
            await page.wait_for_selector("#escalations li", timeout=10_000)
            await shot(page, "alert")

        # Take over a second call from the page: the caller is held and the call is offered to
        # the supervisor's own desk (signed in as demo-agent on the agent desk), to no one else.
        desk_url = f"ws://127.0.0.1:{services['session'].port}/v1/desk/ws"
        async with (
            websockets.connect(desk_url) as desk_ws,
            websockets.connect(
                url, additional_headers={"Authorization": f"Bearer {keys.gateway}"}
            ) as ws,
        ):
            desk = Desk(desk_ws)
            await desk_ws.send(json.dumps({"type": "auth", "key": DESK_KEY}))
            await desk.next("hello")
            caller = Caller(ws)
            call_id = await caller.ready()
            await page.click(f"#calls-body tr[data-call-id='{call_id}']", timeout=10_000)
            await page.click("#takeover")
            await page.fill("#takeover-agent", "demo-agent")
            await page.click("#takeover-form button[type=submit]")
            offer = await desk.next("offer", 20)
            assert offer["call_id"] == call_id
            await page.wait_for_selector(
                f"#calls-body tr[data-call-id='{call_id}'] :text('on hold')", timeout=10_000
            )
            await page.wait_for_selector("#timeline li:has-text('handoff by supervisor:')")
            await shot(page, "takeover")
        await browser.close()
