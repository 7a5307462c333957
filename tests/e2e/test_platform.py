"""The four services as real processes, used as a client would: WebSocket in, HTTP out."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
import websockets

from infra.localstack.infrastructure import free_port
from tests.support.processes import ServiceProcess, http_status

SERVICES = ("gateway", "session", "tools", "analytics")


@pytest.fixture
def platform(service_env: dict[str, str], log_dir) -> Iterator[dict[str, ServiceProcess]]:
    procs = {name: ServiceProcess(name, free_port(), service_env, log_dir) for name in SERVICES}
    for proc in procs.values():
        proc.start()
    try:
        for proc in procs.values():
            proc.wait_ready(90)
        yield procs
    finally:
        # Stop every process first, then judge how each one stopped.
        codes = {name: proc.stop() for name, proc in procs.items()}
        for name, proc in procs.items():
            # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15.
            assert codes[name] in (0, -15), f"{name} exited with {codes[name]}:\n{proc.log_tail()}"
            assert "Application shutdown complete" in proc.log_text(), proc.log_tail()


def get_json(url: str, key: str) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]


async def talk(url: str, key: str, utterances: list[str]) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    frames = []
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {"system_prompt": "hi"}}))
        for text in utterances:
            await ws.send(json.dumps({"type": "input.text", "text": text}))
        await ws.send(json.dumps({"type": "session.end"}))
        async for raw in ws:
            frames.append(json.loads(raw))
        assert ws.close_code == 1000
    ready = next(f for f in frames if f["type"] == "session.ready")
    return ready["session_id"], frames


@pytest.mark.slow
async def test_a_text_call_is_readable_in_the_call_log_within_5_s(platform, keys) -> None:
    gateway, analytics = platform["gateway"], platform["analytics"]
    session_id, frames = await talk(
        f"ws://127.0.0.1:{gateway.port}/v1/ws",
        keys.gateway,
        ["what are your opening hours", "my email is jane.doe@example.com, where is my order"],
    )
    types = [f["type"] for f in frames]
    assert types[0] == "session.ready" and types[-1] == "session.ended"
    assert types.count("transcript.user") == 2 and types.count("reply.done") == 3  # + greeting
    ended = time.monotonic()
    call = None
    while time.monotonic() - ended < 5.0:
        if (
            http_status(f"{analytics.url}/v1/calls/{session_id}", headers=_auth(keys.analyst))
            == 200
        ):
            call = get_json(f"{analytics.url}/v1/calls/{session_id}", keys.analyst)
            if call["ended_at"] and len(call["turns"]) == 5:
                break
        await asyncio.sleep(0.1)
    assert call is not None, "the call was not stored within 5 s"
    assert [t["role"] for t in call["turns"]] == ["agent", "user", "agent", "user", "agent"]
    assert call["end_reason"] == "client_ended" and call["channel"] == "voice_agent"
    assert call["line_config_hash"].startswith("sha256:")
    stored_text = json.dumps(call)
    assert "jane.doe@example.com" not in stored_text and "[EMAIL_ADDRESS]" in stored_text
    assert "opening hours" in stored_text  # harmless words stay readable
    assert "jane.doe" not in analytics.log_text() + gateway.log_text()


async def test_every_service_answers_health_and_readiness(platform) -> None:
    for proc in platform.values():
        assert http_status(f"{proc.url}/healthz") == 200, proc.name
        assert http_status(f"{proc.url}/readyz") == 200, proc.name
        assert http_status(f"{proc.url}/metrics") == 200, proc.name


async def test_the_call_log_requires_an_analyst_key(platform, keys) -> None:
    url = f"{platform['analytics'].url}/v1/calls"
    assert http_status(url) == 401
    assert http_status(url, headers=_auth("sb_analyst_wrong")) == 401  # an unknown key
    assert http_status(url, headers=_auth(keys.gateway)) == 403  # a voice key reads no logs
    assert http_status(url, headers=_auth(keys.analyst)) == 200
    assert http_status(url, headers=_auth(keys.admin)) == 200


async def test_a_bad_key_gets_unauthorized_in_band_then_close_1008(platform) -> None:
    url = f"ws://127.0.0.1:{platform['gateway'].port}/v1/ws"
    for headers in ({"Authorization": "Bearer nope"}, {}):
        async with websockets.connect(url, additional_headers=headers) as ws:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert frame["type"] == "session.error" and frame["code"] == "unauthorized"
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == 1008


async def test_older_paths_and_bare_keys_work(platform, keys) -> None:
    for path in ("/v1/voice", "/v1/realtime"):
        url = f"ws://127.0.0.1:{platform['gateway'].port}{path}"
        async with websockets.connect(
            url, additional_headers={"Authorization": keys.gateway}
        ) as ws:
            # No session.update: session.ready comes by itself after about 2 s (protocol doc).
            frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert frame["type"] == "session.ready"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
