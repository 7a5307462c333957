"""Acceptance: `make up` / `make down` as a new user runs them (the launcher, for real).

The stack under test gets its own state directory, ports, schema and broker, so it runs beside
anything else on the machine (including your own `make up`).
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import websockets

from infra.localstack.infrastructure import free_port, port_open
from tests.conftest import drop_schema
from tests.support.processes import QUICK_STOP, REPO, http_status
from tests.support.waiting import wait_until


def launcher(command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.localstack", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in pairs if not k.startswith("#")}


def stack_pids(state: Path) -> set[int]:
    """The supervisor and every process in its session (children, broker)."""
    supervisor = int((state / "run" / "supervisor.pid").read_text())
    proc = psutil.Process(supervisor)
    return {supervisor, *(c.pid for c in proc.children(recursive=True))}


@pytest.mark.slow
async def test_make_up_twice_then_a_call_then_make_down(
    tmp_path: Path, unique: str, db_schema: str
) -> None:
    state = tmp_path / "state"
    ports = {name: free_port() for name in ("gateway", "session", "tools", "analytics", "llm")}
    kafka_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    env.update(
        SWITCHBOARD_STATE_DIR=str(state),
        SWITCHBOARD_KAFKA_PORT=str(kafka_port),
        ANALYTICS_DB_SCHEMA=db_schema,
        ANALYTICS_CONSUMER_GROUP=f"analytics-{unique}",
        # The CRM seeded on first start goes to a schema of this test's own (dropped below).
        TOOLS_DB_SCHEMA=f"{db_schema}_crm",
        TOOLS_CONSUMER_GROUP=f"tools-{unique}",
        **QUICK_STOP,  # make down waits for the gateway's drain: seconds, not a minute
    )
    started = time.monotonic()
    first = launcher("up", env, timeout=200)
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        assert "Switchboard is up" in first.stdout
        assert f"ws://127.0.0.1:{ports['gateway']}/v1/ws" in first.stdout
        print(f"make up took {time.monotonic() - started:.1f} s")
        pids = stack_pids(state)
        supervisor = int((state / "run" / "supervisor.pid").read_text())

        again = launcher("up", env, timeout=60)
        assert again.returncode == 0 and "Switchboard is up" in again.stdout
        assert int((state / "run" / "supervisor.pid").read_text()) == supervisor
        assert "starting" not in again.stdout  # the second `make up` started nothing

        keys_file = state / "dev-keys.env"
        assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
        keys = read_env_file(keys_file)
        assert {
            "GATEWAY_KEY",
            "ANALYST_KEY",
            "SUPERVISOR_KEY",
            "ADMIN_KEY",
            "TWILIO_AUTH_TOKEN",
            "DESK_KEY",
        } <= set(keys)

        session_id = await text_call(ports["gateway"], keys["GATEWAY_KEY"])
        url = f"http://127.0.0.1:{ports['analytics']}/v1/calls/{session_id}"
        auth = {"Authorization": f"Bearer {keys['ANALYST_KEY']}"}
        assert await wait_until(lambda: http_status(url, headers=auth) == 200, 5.0, 0.1)

        # A crashed service is restarted by the supervisor.
        gateway_pid = int((state / "run" / "gateway.pid").read_text())
        os.kill(gateway_pid, 9)
        restarted = await wait_until(
            lambda: _restarted(state / "run" / "gateway.pid", gateway_pid, ports["gateway"]), 30
        )
        assert restarted, "the supervisor did not restart the killed gateway"
        pids |= stack_pids(state)
    finally:
        down = launcher("down", env, timeout=150)  # beyond DOWN_TIMEOUT_S
    assert down.returncode == 0, down.stdout + down.stderr
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert alive == [], f"processes left running: {alive}"
    bound = [p for p in [*ports.values(), kafka_port] if port_open("127.0.0.1", p)]
    assert bound == [], f"ports still bound: {bound}"
    assert "seeded" in (state / "logs" / "seed.log").read_text()
    database = read_env_file(state / "run" / "stack.env")["DATABASE_URL"]
    await drop_schema(database, f"{db_schema}_crm")


def _restarted(pid_file: Path, old_pid: int, port: int) -> bool:
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        return False
    return pid != old_pid and http_status(f"http://127.0.0.1:{port}/readyz") == 200


async def text_call(port: int, key: str) -> str:
    url = f"ws://127.0.0.1:{port}/v1/ws"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await ws.send(json.dumps({"type": "session.update", "session": {}}))
        await ws.send(json.dumps({"type": "input.text", "text": "hello, what are your hours?"}))
        await ws.send(json.dumps({"type": "session.end"}))
        frames = [json.loads(raw) async for raw in ws]
    await asyncio.sleep(0)
    return next(f["session_id"] for f in frames if f["type"] == "session.ready")
