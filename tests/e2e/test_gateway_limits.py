"""Every bound of the gateway, provoked over a real socket: each answers with its error code."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import pytest
import websockets

from tests.support.metrics import scrape, total
from tests.support.processes import ServiceProcess, module_gateway
from tests.support.slow_client import flood_without_reading
from tests.support.waiting import wait_until


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, infra, keys) -> Iterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    yield from module_gateway(
        tmp_path_factory,
        infra,
        keys,
        GATEWAY_VOICE="off",
        GATEWAY_MAX_SESSIONS="3",
        GATEWAY_MAX_SESSIONS_PER_KEY="2",
        GATEWAY_IDLE_TIMEOUT_S="2",
    )


# Each mid-call session.update is answered with the whole config (19 KB).
UPDATE = {"type": "session.update", "session": {"system_prompt": "p" * 19_000}}


def url(gateway: ServiceProcess) -> str:
    return f"ws://127.0.0.1:{gateway.port}/v1/ws"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def first_error(ws) -> dict:  # type: ignore[no-untyped-def, type-arg]
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "session.error":
            return frame  # type: ignore[no-any-return]


async def ready(ws) -> None:  # type: ignore[no-untyped-def]
    await ws.send(json.dumps({"type": "session.update", "session": {}}))
    while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "session.ready":
        pass


async def test_per_key_concurrency_then_gateway_capacity(gateway, keys) -> None:
    async with (
        websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as a,
        websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as b,
    ):
        await ready(a)
        await ready(b)
        async with websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as c:
            assert (await first_error(c))["code"] == "concurrency_exceeded"
        async with websockets.connect(url(gateway), additional_headers=auth(keys.admin)) as d:
            await ready(d)  # another key: allowed, and now the gateway is full (3)
            async with websockets.connect(
                url(gateway), additional_headers=auth(keys.supervisor)
            ) as e:
                assert (await first_error(e))["code"] == "unauthorized"  # wrong role first
            async with websockets.connect(url(gateway), additional_headers=auth(keys.admin)) as f:
                assert (await first_error(f))["code"] == "at_capacity"
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(f.recv(), 5)
                assert f.close_code == 1013


async def test_an_idle_session_expires(gateway, keys) -> None:
    async with websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as ws:
        await ready(ws)
        error = await first_error(ws)  # nothing sent for GATEWAY_IDLE_TIMEOUT_S
        assert error["code"] == "session_expired"


async def test_bad_audio_and_audio_faster_than_real_time(gateway, keys) -> None:
    async with websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "input.audio", "audio": "not base64!!"}))
        assert (await first_error(ws))["code"] == "invalid_audio"
        second = base64.b64encode(bytes(48_000)).decode()  # 1 s of 24 kHz PCM16
        for _ in range(4):  # 4 s of audio at once: past twice real time plus the burst
            await ws.send(json.dumps({"type": "input.audio", "audio": second}))
        assert (await first_error(ws))["code"] == "audio_rate_violation"
        await ws.send(json.dumps({"type": "input.text", "text": "still there?"}))
        while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "transcript.user":
            continue  # read on: the session survived every error


async def test_a_client_that_stops_reading_is_closed(gateway, keys) -> None:
    # A raw WebSocket upgrade, then flood requests and never read a reply: the outbox fills.
    # (Mid-call session.updates: questions would let the line's flow end the call first.)
    closed, _ = await flood_without_reading(gateway.port, keys.gateway, message=UPDATE)
    assert closed, "the server kept buffering for a client that never reads"
    log = gateway.log_text()
    assert "closing a client that does not read" in log


async def test_a_resume_while_redis_is_away_is_an_internal_error(infra, keys, log_dir) -> None:
    from infra.localstack.infrastructure import free_port
    from tests.support.processes import QUICK_STOP, http_status

    env = {
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "REDIS_TIMEOUT_S": "0.3",
        "AUTH_KEY_HASHES": keys.hashes,
        "GATEWAY_VOICE": "off",
        **QUICK_STOP,
    }
    gateway = ServiceProcess("gateway", free_port(), env, log_dir).start()
    try:
        for _ in range(100):
            if http_status(f"{gateway.url}/healthz") == 200:
                break
            await asyncio.sleep(0.1)
        assert http_status(f"{gateway.url}/readyz") == 503  # it says Redis is missing
        async with websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as ws:
            await ws.send(json.dumps({"type": "session.resume", "session_id": "sess_" + "1" * 32}))
            assert (await first_error(ws))["code"] == "internal_error"
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == 1011
        # New sessions still work without Redis (they just cannot be resumed).
        async with websockets.connect(url(gateway), additional_headers=auth(keys.gateway)) as ws:
            await ready(ws)
    finally:
        gateway.stop()


@pytest.mark.parametrize("receive_buffer", [4096, 65536])
async def test_a_client_with_a_small_receive_buffer_that_stops_reading_is_dropped(
    gateway, keys, receive_buffer
) -> None:
    # Replies back up within a few KB: the gateway's sends wait on the client long before its
    # outbox is full. The send bound (GATEWAY_SEND_TIMEOUT_S, 5 s) drops it anyway.
    loop = asyncio.get_running_loop()
    started = loop.time()
    flood = asyncio.create_task(
        flood_without_reading(
            gateway.port,
            keys.gateway,
            message=UPDATE,
            receive_buffer=receive_buffer,
            stall_s=30,
        )
    )
    # Meanwhile another session on the same gateway is served.
    async with websockets.connect(url(gateway), additional_headers=auth(keys.admin)) as ws:
        await ready(ws)
        await ws.send(json.dumps({"type": "input.text", "text": "hello"}))
        while json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] != "transcript.user":
            continue
    closed, sent = await flood
    took = loop.time() - started
    assert closed, f"not closed after {took:.1f} s ({sent} frames)\n{gateway.log_tail(8)}"
    assert took < 15, took
    assert await wait_until(lambda: total(scrape(gateway), "switchboard_active_sessions") == 0, 10)
