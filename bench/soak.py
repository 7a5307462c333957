"""Load and soak: many sessions for minutes, memory and latency over time (``make soak``).

``python -m bench.soak --sessions N --minutes M`` starts a gateway with no-op models
(``GATEWAY_VOICE=noop``: the real listener, turn detection, dialogue flows, speaker, events and
checkpoints, with models that cost nothing; ``services/gateway/adapters/noop_models.py``) and
keeps N sessions talking to it over the Voice Agent API. Every session streams 20 ms frames of
24 kHz PCM16 at real time for its whole life: 1.5 s of a tone (speech), then silence while the
agent answers; after 2-4 answered turns it says ``session.end`` and a new session takes its
place, so per-session state is created and freed all along.

Every window (10 s) it samples the gateway's RSS and CPU, the sessions live, started and ended,
errors (``session.error`` frames, closes before ``session.ended`` or not 1000, refused
connects, replies that never came), voice-to-voice (the last speech frame sent -> the reply's
first audio received) and reply-frame jitter (how much later than the previous frame's duration
a paced reply frame arrives). It prints a table and a summary, writes JSON, and exits 1 when RSS
grows steadily (``bench.leak_check``) or a window's errors pass the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import random
import sys
import time
import urllib.request
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import websockets
from prometheus_client.parser import text_string_to_metric_families

from bench.echo import FRAME_BYTES, FRAME_MS, STATE, gateway_stack
from bench.soak_report import Window, print_summary, print_window, summarize
from services.gateway.pipeline.speaker import LEAD_MS

RATE = 24_000
SPEECH_FRAMES = 75  # 1.5 s of speech per caller turn
PAUSE_S = (0.5, 1.5)  # after a reply, before the caller speaks again
TURNS = (2, 4)  # answered turns per session, then session.end and a new session
REPLY_TIMEOUT_S = 15.0  # speech ended and no reply audio by then: an error, the session is dropped
END_TIMEOUT_S = 10.0  # session.end sent and no session.ended by then: an error
CATCH_UP_MS = 100.0
LIVE = ("idle", "speaking", "awaiting", "agent")  # phases in which the caller streams audio


def _frame(samples: np.ndarray) -> str:
    audio = base64.b64encode(samples.astype("<i2").tobytes()).decode()
    return json.dumps({"type": "input.audio", "audio": audio})


_t = np.arange(FRAME_BYTES // 2) / RATE
TONE = _frame(0.3 * 32767 * np.sin(2 * math.pi * 440 * _t))
SILENCE = _frame(np.zeros(FRAME_BYTES // 2))


@dataclass
class Soak:
    url: str
    key: str
    window: Window = field(default_factory=Window)
    callers: set[Caller] = field(default_factory=set)
    stopping: bool = False
    turns: tuple[int, int] = TURNS
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    background: set[asyncio.Task[Any]] = field(default_factory=set)

    def error(self, kind: str) -> None:
        self.window.errors[kind] += 1

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)


class Caller:
    """One session: connects, talks in turns, ends. Its slot then starts another."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.phase = "connecting"
        self.ws: Any = None
        self.turns_left = soak.rng.randint(*soak.turns)
        self.speak_at = math.inf
        self.spoken = 0
        self.speech_end = 0.0
        self.answering = False  # the reply now playing answers the caller's turn
        self.deadline = math.inf
        # The reply whose frames arrive: its id, the last frame's arrival, duration, audio so far.
        self.reply: tuple[str, float, float, float] | None = None

    async def run(self) -> None:
        soak = self.soak
        headers = {"Authorization": f"Bearer {soak.key}"}
        try:
            self.ws = await websockets.connect(
                soak.url, additional_headers=headers, open_timeout=10, max_size=None
            )
        except Exception:  # a refused connect, whatever the cause, is counted
            soak.error("refused")
            await asyncio.sleep(1.0)
            return
        soak.window.started += 1
        soak.callers.add(self)
        try:
            if soak.stopping:
                await self.ws.close()
                return
            await self.ws.send(json.dumps({"type": "session.update", "session": {}}))
            with contextlib.suppress(websockets.ConnectionClosed):
                async for raw in self.ws:
                    self.on_message(raw, time.perf_counter())
        finally:
            soak.callers.discard(self)
        if self.phase == "ended" and self.ws.close_code == 1000:
            soak.window.ended += 1
        elif self.phase != "dropped" and not soak.stopping:
            soak.error(f"closed {self.ws.close_code} while {self.phase}")

    def on_message(self, raw: str | bytes, now: float) -> None:
        if isinstance(raw, bytes):
            self.soak.error("binary frame")
            return
        if '"reply.audio"' in raw[:40]:
            body = json.loads(raw)
            self._reply_audio(body["reply_id"], len(body["data"]) * 3 / 4 / (RATE * 2) * 1000, now)
            return
        body = json.loads(raw)
        kind = body.get("type")
        if kind == "session.ready":
            self._pause(now)
        elif kind == "reply.started" and self.phase == "idle":
            self.phase = "agent"  # the greeting
        elif kind == "reply.done" and self.phase in ("agent", "awaiting"):
            self._reply_done(now)
        elif kind == "session.error":
            self.soak.error(f"session.error {body.get('code')}")
        elif kind == "session.ended":
            self.phase = "ended"

    def _reply_audio(self, reply_id: str, duration_ms: float, now: float) -> None:
        window = self.soak.window
        if self.phase == "awaiting":
            window.v2v_ms.append((now - self.speech_end) * 1000)
            self.phase = "agent"
        if self.reply is None or self.reply[0] != reply_id:
            self.reply = (reply_id, now, duration_ms, duration_ms)
            return
        _, last, last_ms, sent_ms = self.reply
        if sent_ms - last_ms >= LEAD_MS:  # both frames paced (the first LEAD_MS go at once)
            # Late against the previous frame's duration; early (a reply's unpaced tail, a
            # catch-up after a late frame) counts as 0: the client's playout buffer absorbs it.
            window.jitter_ms.append(max(0.0, (now - last) * 1000 - last_ms))
        self.reply = (reply_id, now, duration_ms, sent_ms + duration_ms)

    def _reply_done(self, now: float) -> None:
        if self.answering:
            self.answering = False
            self.soak.window.turns += 1
            self.turns_left -= 1
        if self.turns_left <= 0:
            self.deadline = now + END_TIMEOUT_S
            self.end()
        else:
            self._pause(now)

    def _pause(self, now: float) -> None:
        self.phase = "idle"
        self.speak_at = now + self.soak.rng.uniform(*PAUSE_S)

    def next_frame(self, now: float) -> str | None:
        """The frame to stream this tick, or None; also where timeouts are noticed."""
        if self.phase in ("ending", "awaiting") and now > self.deadline:
            self.soak.error("no reply" if self.phase == "awaiting" else "no session.ended")
            self.drop()
            return None
        if self.phase == "idle" and now >= self.speak_at:
            self.phase, self.spoken = "speaking", 0
        if self.phase == "speaking":
            self.spoken += 1
            if self.spoken >= SPEECH_FRAMES:
                self.phase, self.answering = "awaiting", True
                self.speech_end = now  # refined to the send time by the ticker
                self.deadline = now + REPLY_TIMEOUT_S
            return TONE
        return SILENCE if self.phase in LIVE else None

    def end(self) -> None:
        self.phase = "ending"
        self.soak.spawn(self._send_end())

    async def _send_end(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):  # it may have closed meanwhile
            await self.ws.send(json.dumps({"type": "session.end"}))

    def drop(self) -> None:
        self.phase = "dropped"
        self.soak.spawn(self.ws.close())


async def ticker(soak: Soak) -> None:
    """Streams every live caller's next frame every 20 ms, at real time.

    Ticks missed by more than ``CATCH_UP_MS`` (the machine did not run the client) are skipped,
    as a phone would never have sent them, rather than sent in a burst the gateway then queues.
    """
    loop = asyncio.get_running_loop()
    start, tick = loop.time(), 0
    while not soak.stopping:
        now, due = time.perf_counter(), start + tick * FRAME_MS / 1000
        late_ms = max(0.0, (loop.time() - due) * 1000)
        soak.window.late_ms.append(late_ms)
        if late_ms > CATCH_UP_MS:
            start, tick = loop.time(), 0
        for caller in list(soak.callers):
            frame = caller.next_frame(now)
            if frame is None:
                continue
            with contextlib.suppress(websockets.ConnectionClosed):
                await caller.ws.send(frame)
            if frame is TONE and caller.phase == "awaiting":
                caller.speech_end = time.perf_counter()
        soak.window.frames += 1
        tick += 1
        await asyncio.sleep(max(0.0, start + tick * FRAME_MS / 1000 - loop.time()))


async def slot(soak: Soak, delay_s: float) -> None:
    await asyncio.sleep(delay_s)
    while not soak.stopping:
        await Caller(soak).run()


def gateway_active(ws_url: str) -> float:
    """The gateway's own count of the sessions it holds (``switchboard_active_sessions``)."""
    base = ws_url.replace("ws://", "http://", 1).split("/v1/", 1)[0]
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "switchboard_active_sessions":
                return float(sample.value)
    raise RuntimeError("the gateway exposes no switchboard_active_sessions")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_soak(
    url: str,
    key: str,
    pid: int,
    *,
    sessions: int,
    duration_s: float,
    window_s: float = 10.0,
    ramp_s: float = 5.0,
    max_slope_mb_per_min: float = 1.0,
    max_window_errors: int | None = None,
    turns: tuple[int, int] = TURNS,
    warm_up: bool = True,
) -> dict[str, Any]:
    """Drive the gateway at ``url`` (process ``pid``) and return the results (see summarize)."""
    soak = Soak(url, key, turns=turns)
    tick = asyncio.create_task(ticker(soak))
    if warm_up:  # one whole session first: one-time costs (imports, caches) are not per session
        warm = Caller(soak)
        warm.turns_left = 1
        await asyncio.wait_for(warm.run(), REPLY_TIMEOUT_S + 30)
    await asyncio.sleep(1.0)
    baseline = rss_mb(pid)
    warm_errors, soak.window = soak.window.errors, Window()
    if warm_errors:
        raise RuntimeError(f"the warm-up session failed: {dict(warm_errors)}")
    windows: list[dict[str, Any]] = []
    slots = [asyncio.create_task(slot(soak, i * ramp_s / sessions)) for i in range(sessions)]
    loop = asyncio.get_running_loop()
    began = loop.time()
    cpu_before, at = cpu_s(pid), began
    print(f"soak: {sessions} sessions for {duration_s:.0f} s; gateway RSS before {baseline:.1f} MB")
    try:
        while (elapsed := loop.time() - began) < duration_s - 1e-6:
            await asyncio.sleep(min(window_s, duration_s - elapsed))
            window, soak.window = soak.window, Window()
            cpu, now = cpu_s(pid), loop.time()
            row = window.row(
                t_s=now - began,
                rss_mb=rss_mb(pid),
                live=sum(c.phase in LIVE for c in soak.callers),
                cpu_pct=100 * (cpu - cpu_before) / (now - at),
            )
            row["gateway_active"] = await asyncio.to_thread(gateway_active, url)
            cpu_before, at = cpu, now
            windows.append(row)
            print_window(row, first=len(windows) == 1)
    finally:
        # Every session says session.end, so what the gateway still holds afterwards is retained.
        soak.stopping = True
        tick.cancel()
        for caller in list(soak.callers):
            if caller.phase != "ending":
                caller.end()
        _, pending = await asyncio.wait(slots, timeout=END_TIMEOUT_S)
        for task in [tick, *pending]:
            task.cancel()
        await asyncio.gather(tick, *slots, return_exceptions=True)
    await asyncio.sleep(2.0)
    after = rss_mb(pid)
    active_after = await asyncio.to_thread(gateway_active, url)
    bound = max(1, sessions // 50) if max_window_errors is None else max_window_errors
    return summarize(
        windows,
        sessions=sessions,
        baseline_mb=baseline,
        after_mb=after,
        active_after=active_after,
        warmup_s=min(120.0, duration_s / 4),
        max_slope_mb_per_min=max_slope_mb_per_min,
        max_window_errors=bound,
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--window-s", type=float, default=10.0)
    parser.add_argument("--max-slope", type=float, default=1.0, help="MB/min a leak exceeds")
    parser.add_argument("--max-window-errors", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="results JSON")
    args = parser.parse_args(argv)
    out = args.out or STATE / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    load_before = os.getloadavg()
    async with gateway_stack("noop") as (gateway, key):
        assert gateway.process is not None
        results = await run_soak(
            f"ws://127.0.0.1:{gateway.port}/v1/ws",
            key,
            gateway.process.pid,
            sessions=args.sessions,
            duration_s=args.minutes * 60,
            window_s=args.window_s,
            max_slope_mb_per_min=args.max_slope,
            max_window_errors=args.max_window_errors,
        )
    results["load_average"] = {"before": load_before, "after": os.getloadavg()}
    print_summary(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"  results: {out}")
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
