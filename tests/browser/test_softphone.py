"""The softphone page in a real headless Chromium, with a WAV file as its microphone."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from infra.localstack.infrastructure import free_port
from tests.support.browser import CHROMIUM, FLAGS
from tests.support.processes import REPO, ServiceProcess
from tests.support.voice_client import librivox, resample, wer

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def gateway(service_env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    env = {**service_env, "GATEWAY_VOICE": "embedded"}
    proc = ServiceProcess("gateway", free_port(), env, log_dir).start()
    try:
        proc.wait_ready(120)
        yield proc
    finally:
        proc.stop()


def microphone_file(tmp_path: Path) -> tuple[Path, str]:
    """A 48 kHz WAV: a second of silence, a LibriVox sentence, then silence (Chromium loops it)."""
    pcm, rate, script = librivox("0880")
    speech = resample(pcm, rate, 48_000)
    silence = np.zeros(48_000, dtype=np.int16)
    audio = np.concatenate([silence, speech, silence, silence, silence, silence, silence])
    path = tmp_path / "caller.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(audio.tobytes())
    return path, script


@pytest.mark.slow
def test_a_caller_talks_to_the_agent_from_the_browser(gateway, keys, tmp_path: Path) -> None:
    wav, script = microphone_file(tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *FLAGS,
                f"--use-file-for-fake-audio-capture={wav}",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(f"{gateway.url}/")
            assert page.title() == "Switchboard softphone"
            page.fill("#key", keys.gateway)
            page.click("#call")
            page.wait_for_selector(".line.user:not(.live)", timeout=40_000)
            page.wait_for_selector(".line.agent >> nth=1", timeout=40_000)  # greeting + answer
            heard = page.inner_text(".line.user:not(.live) >> nth=0")
            stats = page.evaluate("window.softphone.stats")
            page.screenshot(path=str(ARTIFACTS / "softphone.png"), full_page=True)
            page.click("#hangup")
            page.wait_for_function(
                "document.querySelector('#status').textContent.includes('ended')"
            )
        finally:
            browser.close()
    assert wer(script, heard.removeprefix("You: ")) <= 0.15, heard
    assert stats["framesSent"] > 20  # the microphone's audio went up the socket
    assert stats["audioChunksReceived"] > 10  # the agent's speech came back and was played
