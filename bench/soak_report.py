"""The soak's windows, its summary and its verdicts (``bench.soak``)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.leak_check import error_spikes, leak_check

# The load client's 20 ms clock late by more than this (p99 of a window): the machine did not
# run it, so its timeouts in that window and the next two say nothing about the gateway.
STALL_MS = 500.0


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Window:
    """What the callers saw during one window."""

    v2v_ms: list[float] = field(default_factory=list)
    jitter_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)  # the load client's own tick lateness
    errors: Counter[str] = field(default_factory=Counter)
    started: int = 0
    ended: int = 0
    turns: int = 0
    frames: int = 0

    def row(self, *, t_s: float, rss_mb: float, live: int, cpu_pct: float) -> dict[str, Any]:
        return {
            "t_s": round(t_s, 1),
            "rss_mb": round(rss_mb, 2),
            "live": live,
            "cpu_pct": round(cpu_pct, 1),
            "started": self.started,
            "ended": self.ended,
            "turns": self.turns,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "v2v_ms": _cuts(self.v2v_ms, (50, 95, 99)),
            "jitter_ms": _cuts(self.jitter_ms, (50, 99)),
            "client_late_p99_ms": round(pct(self.late_ms, 99), 1),
            "samples": {"v2v": len(self.v2v_ms), "jitter": len(self.jitter_ms)},
            "_raw": {"v2v": self.v2v_ms, "jitter": self.jitter_ms},
        }


def _cuts(values: Sequence[float], qs: Sequence[int]) -> dict[str, float]:
    return {f"p{q}": round(pct(values, q), 1) for q in qs}


HEADER = (
    f"{'t s':>6} {'RSS MB':>8} {'live':>5} {'cpu%':>5} {'new':>4} {'end':>4} {'turns':>5} "
    f"{'err':>4}  {'v2v p50/p95/p99 ms':>20}  {'jitter p50/p99 ms':>17} {'late99':>6}"
)


def print_window(row: dict[str, Any], *, first: bool) -> None:
    if first:
        print(HEADER)
    v2v, jitter = row["v2v_ms"], row["jitter_ms"]
    print(
        f"{row['t_s']:6.0f} {row['rss_mb']:8.1f} {row['live']:5} {row['cpu_pct']:5.0f} "
        f"{row['started']:4} {row['ended']:4} {row['turns']:5} {row['errors']:4}  "
        f"{v2v['p50']:6.0f}/{v2v['p95']:6.0f}/{v2v['p99']:6.0f}  "
        f"{jitter['p50']:8.1f}/{jitter['p99']:7.1f} {row['client_late_p99_ms']:6.1f}"
        + (f"  {row['error_kinds']}" if row["errors"] else "")
    )


def summarize(
    windows: list[dict[str, Any]],
    *,
    sessions: int,
    baseline_mb: float,
    after_mb: float,
    active_after: float,
    warmup_s: float,
    max_slope_mb_per_min: float,
    max_window_errors: int,
) -> dict[str, Any]:
    """Figures over the whole run, first and last window, and the two verdicts."""
    raw = [w.pop("_raw") for w in windows]
    after = [w for w in windows if w["t_s"] >= warmup_s] or windows
    loaded = statistics.median(w["rss_mb"] for w in after) if after else baseline_mb
    leak = leak_check(
        [w["t_s"] for w in windows],
        [w["rss_mb"] for w in windows],
        warmup_s=warmup_s,
        max_slope_mb_per_min=max_slope_mb_per_min,
    )
    spikes, excused = error_spikes(
        [w["errors"] for w in windows],
        max_per_window=max_window_errors,
        stalled=[w["client_late_p99_ms"] > STALL_MS for w in windows],
    )
    ended = sum(w["ended"] for w in after)
    minutes = (after[-1]["t_s"] - after[0]["t_s"]) / 60 if len(after) > 1 else 0.0
    errors: Counter[str] = Counter()
    for w in windows:
        errors.update(w["error_kinds"])
    v2v = [v for r in raw for v in r["v2v"]]
    jitter = [v for r in raw for v in r["jitter"]]
    return {
        "sessions": sessions,
        "first_window_after_warmup": windows.index(after[0]) if windows else None,
        "windows": windows,
        "baseline_rss_mb": round(baseline_mb, 2),
        "loaded_rss_mb": round(loaded, 2),
        "mb_per_session": round((loaded - baseline_mb) / sessions, 3),
        "after_rss_mb": round(after_mb, 2),  # every session ended; 2 s later
        # The gateway's own count once every session has ended: anything but 0 is held state.
        "gateway_active_after": active_after,
        "warmup_s": warmup_s,
        "leak": asdict(leak),
        # What the RSS slope would cost per session that came and went (0 when flat).
        "kb_per_ended_session": (
            round(leak.slope_mb_per_min * minutes * 1024 / ended, 2) if ended else None
        ),
        "sessions_started": sum(w["started"] for w in windows),
        "sessions_ended": sum(w["ended"] for w in windows),
        "turns": sum(w["turns"] for w in windows),
        "errors": dict(errors),
        "max_window_errors": max_window_errors,
        "error_spike_windows": spikes,
        # Over the bound while (or just after) the load client itself stalled: not judged.
        "error_spike_windows_excused": excused,
        "client_stalled_windows": [
            i for i, w in enumerate(windows) if w["client_late_p99_ms"] > STALL_MS
        ],
        "v2v_ms": _cuts(v2v, (50, 95, 99)),
        "jitter_ms": _cuts(jitter, (50, 99)),
        "passed": not leak.leaking and not spikes and active_after == 0,
    }


def print_summary(r: dict[str, Any]) -> None:
    first, last = r["windows"][r["first_window_after_warmup"]], r["windows"][-1]
    leak = r["leak"]
    print(f"soak summary ({r['sessions']} sessions)")
    print(
        f"  gateway RSS: {r['baseline_rss_mb']} MB before, {r['loaded_rss_mb']} MB loaded "
        f"(median after the {r['warmup_s']:.0f} s warm-up): {r['mb_per_session']} MB per session; "
        f"{r['after_rss_mb']} MB once every session had ended"
    )
    print(
        f"  RSS slope (Theil-Sen, after warm-up) {leak['slope_mb_per_min']:.3f} MB/min, "
        f"tau {leak['tau']:.2f}; per ended session {r['kb_per_ended_session']} KB; "
        f"leak check: {'FAIL' if leak['leaking'] else 'pass'} ({leak['reason']})"
    )
    print(
        f"  sessions {r['sessions_started']} started, {r['sessions_ended']} ended cleanly; "
        f"turns {r['turns']}; gateway sessions after the end {r['gateway_active_after']:.0f}; "
        f"errors {r['errors'] or 'none'}; error windows over "
        f"{r['max_window_errors']}: {r['error_spike_windows'] or 'none'} (excused, the load "
        f"client stalled: {r['error_spike_windows_excused'] or 'none'}; windows in which it "
        f"stalled: {r['client_stalled_windows'] or 'none'})"
    )
    for name, figure in (("voice-to-voice", "v2v_ms"), ("reply frame jitter", "jitter_ms")):
        print(
            f"  {name} ms: all {_show(r[figure])}; first window after the warm-up "
            f"{_show(first[figure])}; "
            f"last window {_show(last[figure])}"
        )
    print(f"  {'PASS' if r['passed'] else 'FAIL'}")


def _show(cuts: dict[str, float]) -> str:
    return " / ".join(f"{k} {v:.1f}" for k, v in cuts.items())
