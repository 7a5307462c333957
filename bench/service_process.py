"""A Switchboard service as a real process for a bench: started, ready, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

from infra.localstack.infrastructure import free_port

REPO = Path(__file__).resolve().parents[1]
LOGS = REPO / ".switchboard" / "bench" / "logs"


def _wait_ready(name: str, url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the {name} service exited; see {LOGS / name}.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the {name} service did not become ready in {timeout_s} s")


@contextlib.asynccontextmanager
async def service_process(
    name: str, env: dict[str, str], timeout_s: float = 90
) -> AsyncIterator[int]:
    """``python -m services.<name>`` on a free port (``<NAME>_PORT``), yielded once ready."""
    LOGS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (LOGS / f"{name}.log").open("ab")
    proc: subprocess.Popen[bytes] | None = None
    try:
        proc = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", f"services.{name}"],
            env={**env, f"{name.upper()}_PORT": str(port)},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        await asyncio.to_thread(
            _wait_ready, name, f"http://127.0.0.1:{port}/readyz", proc, timeout_s
        )
        yield port
    finally:
        if proc is not None:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 30)
        log.close()
