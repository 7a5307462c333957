"""What a hundred live calls cost the dashboard page (``python -m bench.dashboard_page``).

Headless Chromium opens the real page (the dashboard's routes in this process); Playwright plays
the live feed of docs/dashboard.md in place of the server: a snapshot of ``DASHBOARD_CALLS``
calls, then every 250 ms (the server's batching bound) a ``calls`` message in which every call
changed (sentiment point, risk, latency, now and then its state), plus a new transcript item of
the open call each second. Figures from the browser's own counters: the main thread's busy
share (Chrome's TaskDuration over wall time), script and layout time, frame gaps and long tasks
(over 50 ms), and the table's own drawing time per frame. The server's side (push latency, CPU)
is measured by ``bench.dashboard``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Page, WebSocketRoute, async_playwright

from services.analytics.entrypoints import dashboard
from tests.support.browser import CHROMIUM, FLAGS

CALLS = int(os.environ.get("DASHBOARD_CALLS", "100"))
SECONDS = float(os.environ.get("DASHBOARD_SECONDS", "20"))
SORT = os.environ.get("DASHBOARD_SORT", "")  # a column to sort by first, e.g. line_id
BATCH_S = 0.25
STATES = ["listening", "agent_speaking", "tool_running", "listening"]
PROBE = """() => {
  window.bench = {gaps: [], longTasks: 0, longMs: 0, last: performance.now()};
  const frame = (now) => {
    window.bench.gaps.push(now - window.bench.last);
    window.bench.last = now;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      window.bench.longTasks += 1;
      window.bench.longMs += e.duration;
    }
  }).observe({type: "longtask"});
}"""


def iso(seconds_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


def row(n: int, tick: int, rng: random.Random) -> dict[str, Any]:
    sentiment = [round(rng.uniform(-1, 1), 2) for _ in range(min(30, 3 + tick // 4))]
    return {
        "call_id": f"call-{n:04d}",
        "line_id": f"line-{n % 7}",
        "channel": "twilio" if n % 3 == 0 else "voice_agent",
        "started_at": iso(30 + n * 7),
        "ended": False,
        "state": STATES[(n + tick // 8) % len(STATES)],
        "turns": tick // 12,
        "sentiment": sentiment,
        "risk": {"score": round(rng.random(), 2), "reasons": ["negative sentiment"]},
        "escalated": False,
        "last_v2v_ms": rng.randint(600, 1400),
        "agent_id": None,
    }


class Feed:
    def __init__(self) -> None:
        self.socket: WebSocketRoute | None = None
        self.rng = random.Random(7)

    def handle(self, ws: WebSocketRoute) -> None:
        self.socket = ws

        def on_message(text: str | bytes) -> None:
            message = json.loads(text)
            if message["type"] == "auth":
                calls = [row(n, 0, self.rng) for n in range(CALLS)]
                kpis = {"active_calls": CALLS, "calls": CALLS, "series": []}
                snapshot = {"type": "snapshot", "server_time": iso(), "calls": calls}
                ws.send(json.dumps({**snapshot, "alerts": [], "kpis": kpis}))
            elif message["type"] == "watch":
                ws.send(json.dumps({"type": "call", "call": row(0, 0, self.rng), "items": []}))

        ws.on_message(on_message)

    async def play(self, seconds: float) -> int:
        assert self.socket is not None
        sent, tick, start = 0, 0, time.monotonic()
        while time.monotonic() - start < seconds:
            tick += 1
            upserts = [row(n, tick, self.rng) for n in range(CALLS)]
            self.socket.send(json.dumps({"type": "calls", "upserts": upserts, "removed": []}))
            if tick % 4 == 0:
                item = {"kind": "user", "id": f"user:{tick}", "at": iso(), "text": "a turn " * 8}
                self.socket.send(
                    json.dumps({"type": "items", "call_id": "call-0000", "items": [item]})
                )
            sent += 1
            await asyncio.sleep(max(0.0, start + tick * BATCH_S - time.monotonic()))
        return sent


async def metrics(page: Page, cdp: Any) -> dict[str, float]:
    answer = await cdp.send("Performance.getMetrics")
    return {m["name"]: m["value"] for m in answer["metrics"]}


async def measure(base: str) -> dict[str, Any]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1000})
            feed = Feed()
            await page.route_web_socket("**/v1/live/ws", feed.handle)
            body = {"roles": ["supervisor"], "live": True}
            await page.route("**/v1/live/whoami", lambda r: r.fulfill(status=200, json=body))
            await page.goto(f"{base}/dashboard")
            await page.fill("#key", "sb_supervisor_bench")
            await page.click("#sign-in-button")
            await page.wait_for_function(f"() => window.dashboardState.rows === {CALLS}")
            await page.click("tr[data-call-id=call-0000]")
            if SORT:
                await page.click(f"th[data-sort={SORT}] button")
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Performance.enable")
            await page.evaluate(PROBE)
            before = await metrics(page, cdp)
            flushes0 = await page.evaluate("window.dashboardState.tableFlushMs")
            started = time.monotonic()
            batches = await feed.play(SECONDS)
            wall = time.monotonic() - started
            after = await metrics(page, cdp)
            probe = await page.evaluate("window.bench")
            state = await page.evaluate("window.dashboardState")
        finally:
            await browser.close()
    gaps = sorted(probe["gaps"][1:])
    busy = {k: after[k] - before[k] for k in ("TaskDuration", "ScriptDuration", "LayoutDuration")}
    return {
        "batches": batches,
        "wall_s": wall,
        "busy": busy,
        "gaps": gaps,
        "long": (probe["longTasks"], probe["longMs"]),
        "flush_ms": (state["tableFlushMs"] - flushes0) / max(1, batches),
    }


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


async def main() -> None:
    app = FastAPI()
    app.include_router(dashboard.router)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(), name="bench-dashboard-page")
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and not serving.done(), "page server did not start"
        await asyncio.sleep(0.01)
    try:
        port = server.servers[0].sockets[0].getsockname()[1]
        result = await measure(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
    wall, busy, gaps = result["wall_s"], result["busy"], result["gaps"]
    print(f"dashboard page: {CALLS} calls, every row changed every 250 ms, {wall:.0f} s")
    print(
        f"  main thread busy {100 * busy['TaskDuration'] / wall:.1f}% "
        f"(script {100 * busy['ScriptDuration'] / wall:.1f}%, "
        f"layout {100 * busy['LayoutDuration'] / wall:.1f}%)"
    )
    print(f"  table drawing per batch {result['flush_ms']:.2f} ms")
    print(
        f"  frame gaps p50 {pct(gaps, 0.5):.1f} ms, p99 {pct(gaps, 0.99):.1f} ms, "
        f"max {gaps[-1] if gaps else float('nan'):.1f} ms"
    )
    print(f"  long tasks (> 50 ms): {result['long'][0]} ({result['long'][1]:.0f} ms in all)")


if __name__ == "__main__":
    asyncio.run(main())
