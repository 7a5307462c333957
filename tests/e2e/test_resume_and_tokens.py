"""Resume on a second gateway process, temporary tokens, and the errors around them."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
import websockets

from infra.localstack.infrastructure import free_port
from tests.support.processes import ServiceProcess, gateway_pair, http_status, running

RESUME_WINDOW_S = 3


@pytest.fixture
def stack(service_env: dict[str, str], log_dir) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env, "GATEWAY_RESUME_WINDOW_S": str(RESUME_WINDOW_S)}
    procs = {
        **gateway_pair(env, log_dir),
        "analytics": ServiceProcess("analytics", free_port(), env, log_dir),
    }
    with running(procs, 90):
        yield procs


def ws_url(gateway: ServiceProcess, query: str = "") -> str:
    return f"ws://127.0.0.1:{gateway.port}/v1/ws{query}"


def get_json(url: str, key: str) -> dict:  # type: ignore[type-arg]
    request = urllib.request.Request(url, headers=bearer(key))
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)  # type: ignore[no-any-return]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def until(ws, wanted: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == wanted:
            return frame  # type: ignore[no-any-return]


async def call_log(analytics: ServiceProcess, key: str, call_id: str, turns: int) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + 15
    call: dict = {}  # type: ignore[type-arg]
    while time.monotonic() < deadline:
        url = f"{analytics.url}/v1/calls/{call_id}"
        if http_status(url, headers=bearer(key)) == 200:
            call = await asyncio.to_thread(get_json, url, key)
            if call["ended_at"] and len(call["turns"]) >= turns:
                return call
        await asyncio.sleep(0.2)
    return call


@pytest.mark.slow
async def test_a_dropped_session_resumes_on_another_gateway_with_its_context(stack, keys) -> None:
    async with websockets.connect(
        ws_url(stack["gw_a"]), additional_headers=bearer(keys.gateway)
    ) as ws:
        await ws.send(
            json.dumps({"type": "session.update", "session": {"system_prompt": "resume-me"}})
        )
        session_id = (await until(ws, "session.ready"))["session_id"]
        await ws.send(json.dumps({"type": "input.text", "text": "hello there"}))
        await until(ws, "transcript.user")
        await until(ws, "reply.done")
    # The socket dropped without session.end. Another gateway picks the session up.
    async with websockets.connect(
        ws_url(stack["gw_b"]), additional_headers=bearer(keys.gateway)
    ) as ws:
        await ws.send(json.dumps({"type": "session.resume", "session_id": session_id}))
        ready = await until(ws, "session.ready")
        assert ready["session_id"] == session_id
        assert ready["config"]["system_prompt"] == "resume-me"
        await ws.send(json.dumps({"type": "input.text", "text": "what are your hours"}))
        await until(ws, "reply.done")
        await ws.send(json.dumps({"type": "session.end"}))
        await until(ws, "session.ended")
    await asyncio.sleep(RESUME_WINDOW_S + 1)  # gw-a's window passes: it must not end the call
    call = await call_log(stack["analytics"], keys.analyst, session_id, turns=5)
    assert [t["role"] for t in call["turns"]] == ["agent", "user", "agent", "user", "agent"]
    assert call["end_reason"] == "client_ended"
    # The session ended normally: it is no longer resumable.
    async with websockets.connect(
        ws_url(stack["gw_a"]), additional_headers=bearer(keys.gateway)
    ) as ws:
        await ws.send(json.dumps({"type": "session.resume", "session_id": session_id}))
        error = await until(ws, "session.error")
        assert error["code"] == "session_not_found"


@pytest.mark.slow
async def test_a_dropped_session_nobody_resumes_ends_after_the_window(stack, keys) -> None:
    async with websockets.connect(
        ws_url(stack["gw_a"]), additional_headers=bearer(keys.gateway)
    ) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {}}))
        session_id = (await until(ws, "session.ready"))["session_id"]
    call = await call_log(stack["analytics"], keys.analyst, session_id, turns=1)
    assert call.get("end_reason") == "client_disconnected"
    async with websockets.connect(
        ws_url(stack["gw_b"]), additional_headers=bearer(keys.gateway)
    ) as ws:
        await ws.send(json.dumps({"type": "session.resume", "session_id": session_id}))
        assert (await until(ws, "session.error"))["code"] == "session_not_found"


async def test_resume_errors(stack, keys) -> None:
    async with websockets.connect(
        ws_url(stack["gw_a"]), additional_headers=bearer(keys.gateway)
    ) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {}}))
        session_id = (await until(ws, "session.ready"))["session_id"]
    cases = [
        (keys.admin, session_id, "session_forbidden"),  # another key's session
        (keys.gateway, "sess_" + "0" * 32, "session_not_found"),
        (keys.gateway, 42, "invalid_value"),
    ]
    for key, sid, code in cases:
        async with websockets.connect(ws_url(stack["gw_b"]), additional_headers=bearer(key)) as ws:
            await ws.send(json.dumps({"type": "session.resume", "session_id": sid}))
            assert (await until(ws, "session.error"))["code"] == code
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == 1008


async def test_temporary_tokens_are_single_use(stack, keys) -> None:
    gateway = stack["gw_a"]
    url = f"{gateway.url}/v1/token?expires_in_seconds=60"
    assert http_status(url) == 401
    assert http_status(url, headers=bearer(keys.analyst)) == 403
    assert (
        http_status(f"{gateway.url}/v1/token?expires_in_seconds=601", headers=bearer(keys.gateway))
        == 422
    )
    body = await asyncio.to_thread(get_json, url, keys.gateway)
    assert body["expires_in_seconds"] == 60 and len(body["token"]) >= 32
    async with websockets.connect(ws_url(gateway, f"?token={body['token']}")) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {}}))
        assert (await until(ws, "session.ready"))["session_id"].startswith("sess_")
    # One token, one session: on any gateway.
    async with websockets.connect(ws_url(stack["gw_b"], f"?token={body['token']}")) as ws:
        assert (await until(ws, "session.error"))["code"] == "unauthorized"
