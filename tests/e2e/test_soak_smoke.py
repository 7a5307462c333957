"""A short run of the soak (``bench.soak``) so its code cannot rot: ``make soak`` runs it long.

A real gateway process with no-op models (``GATEWAY_VOICE=noop``), real broker and Redis;
a few sessions for about 20 s, turning over.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from bench.soak import run_soak
from tests.support.processes import ServiceProcess, module_gateway

SESSIONS = 4


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, infra, keys) -> Iterator[ServiceProcess]:  # type: ignore[no-untyped-def]
    yield from module_gateway(tmp_path_factory, infra, keys, GATEWAY_VOICE="noop")


async def test_a_short_soak_produces_windows_and_figures_and_passes(
    gateway: ServiceProcess, keys
) -> None:  # type: ignore[no-untyped-def]
    assert gateway.process is not None
    results = await run_soak(
        f"ws://127.0.0.1:{gateway.port}/v1/ws",
        keys.gateway,
        gateway.process.pid,
        sessions=SESSIONS,
        duration_s=20,
        window_s=5,
        ramp_s=1,
        max_window_errors=0,
        turns=(1, 1),  # a session lasts about 15 s (greeting, one turn, the answer)
        warm_up=False,
    )
    windows = results["windows"]
    assert len(windows) == 4
    assert all(w["rss_mb"] > 0 for w in windows)
    assert max(w["live"] for w in windows) == SESSIONS
    # Sessions talked in turns and got answers: voice-to-voice is the 1 s of silence the
    # protocol's min_silence waits, plus the gateway's own time.
    assert results["turns"] >= SESSIONS
    assert 900 < results["v2v_ms"]["p50"] < 3000
    assert not math.isnan(results["jitter_ms"]["p99"])
    assert results["sessions_ended"] >= 1  # churn: sessions ended and new ones took their place
    assert results["sessions_started"] > SESSIONS
    assert results["errors"] == {}
    assert results["gateway_active_after"] == 0
    assert max(w["gateway_active"] for w in windows) >= SESSIONS
    assert not results["leak"]["conclusive"]  # 20 s is too short for a verdict, and says so
    assert results["passed"]
