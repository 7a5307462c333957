"""A caller and a human agent, each a real headless Chromium page, through the real services.

The caller is the gateway's softphone page with a WAV file as its microphone (it asks for a
person); the agent is the session service's desk page with Chromium's fake microphone (a beep).
The caller escalates, the agent accepts, and audio flows both ways through the gateway: the
agent's page measures the energy of the caller's voice, the caller's page that of the agent's.
"""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from infra.localstack.infrastructure import free_port
from shared.auth import hash_key
from tests.conftest import Keys
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.processes import REPO, ServiceProcess, running, services
from tests.support.voice_client import espeak, resample

ARTIFACTS = REPO / "test-artifacts"
DESK_KEY = "sb_desk_browser-test-key-0123456789abcdefghijklmnopq"


@pytest.fixture
def stack(
    service_env: dict[str, str], log_dir: Path, unique: str
) -> Iterator[dict[str, ServiceProcess]]:
    env = {
        **service_env,
        "GATEWAY_VOICE": "embedded",
        "SESSION_CONSUMER_GROUP": f"session-{unique}",
        "DESK_KEY_HASH": hash_key(DESK_KEY),
        # No analytics service here: offers go out without a stored transcript.
        "SESSION_ANALYTICS_URL": f"http://127.0.0.1:{free_port()}",
    }
    procs = services(("gateway", "session"), env, log_dir)
    with running(procs):
        yield procs


def caller_microphone(tmp_path: Path) -> Path:
    """48 kHz: a second of silence, "I want to talk to a real person", then silence (looped)."""
    pcm, rate = espeak("Hello. I want to talk to a real person, please.")
    speech = resample(pcm, rate, 48_000)
    silence = np.zeros(48_000, dtype=np.int16)
    audio = np.concatenate([silence, speech, *[silence] * 4])
    path = tmp_path / "caller.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(audio.tobytes())
    return path


def launch(playwright: Playwright, *extra: str) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, *extra])


def wait_for(page: Any, expression: str, timeout_s: float) -> None:
    page.wait_for_function(expression, timeout=timeout_s * 1000)


@pytest.mark.slow
def test_a_caller_escalates_and_talks_with_a_desk_agent(
    stack: dict[str, ServiceProcess], keys: Keys, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    wav = caller_microphone(tmp_path)
    with sync_playwright() as playwright:
        agent_browser = launch(playwright)
        caller_browser = launch(playwright, f"--use-file-for-fake-audio-capture={wav}")
        try:
            desk = agent_browser.new_page(viewport={"width": 1280, "height": 800})
            desk.goto(f"{stack['session'].url}/desk")
            desk.fill("#key", DESK_KEY)
            desk.click("#sign-in-button")
            desk.wait_for_selector("#agent-name:has-text('Demo Agent')", timeout=10_000)
            desk.check("#available")
            wait_for(desk, "window.deskState.available === true", 10)

            caller = caller_browser.new_page()
            caller.goto(f"{stack['gateway'].url}/")
            caller.fill("#key", keys.gateway)
            caller.click("#call")

            desk.wait_for_selector("#offer:not([hidden])", timeout=90_000)
            reasons = desk.inner_text("#offer-reasons")
            desk.screenshot(path=str(ARTIFACTS / "handoff-desk-offer.png"), full_page=True)
            caller_heard_before = caller.evaluate("window.softphone.stats.audibleChunks")
            desk.click("#accept")
            wait_for(desk, "window.deskState.bridge === 'open'", 20)
            opened = time.monotonic()
            # The caller's voice (the WAV loops every ~7 s) reaches the agent's page ...
            wait_for(desk, "window.deskState.receivedRmsMax > 0.02", 30)
            # ... and the agent's (the fake microphone's beep) reaches the caller's.
            wait_for(
                caller,
                f"window.softphone.stats.audibleChunks > {caller_heard_before} + 10",
                30,
            )
            both_ways_s = time.monotonic() - opened
            wait_for(desk, "window.deskState.framesSent > 10", 20)  # 60 ms frames: 0.6 s of mic
            agent_state = desk.evaluate("window.deskState")
            caller_stats = caller.evaluate("window.softphone.stats")
            desk.screenshot(path=str(ARTIFACTS / "handoff-desk-call.png"), full_page=True)
            caller.screenshot(path=str(ARTIFACTS / "handoff-caller.png"), full_page=True)
            desk.click("#end-call")
            wait_for(caller, "document.querySelector('#status').textContent.includes('ended')", 20)
        finally:
            caller_browser.close()
            agent_browser.close()
    assert "person" in reasons.lower()
    assert agent_state["audioBytesReceived"] > 24_000  # over half a second of the caller
    assert agent_state["framesSent"] > 10  # the agent's microphone went up the bridge
    assert caller_stats["lastRms"] >= 0.0 and caller_stats["audibleChunks"] > 10
    assert both_ways_s < 60
