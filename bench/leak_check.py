"""The soak's two verdicts, pure functions: does memory grow steadily, did errors spike.

A leak is growth that goes on: after the warm-up, the Theil-Sen slope of RSS over time (the
median of the pairwise slopes, which a few outliers do not move) is above ``max_slope``, the
series trends upward (Kendall's tau at least ``min_tau``), and each third of it grows on its
own (its slope above half of ``max_slope``). A plateau, a single step (a cache filling, an
allocator arena taken once) and noise around a flat line pass: in each of them some third is
flat, or the trend is weak.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_SAMPLES = 6  # fewer after the warm-up: no verdict (a smoke run)


@dataclass(frozen=True)
class LeakVerdict:
    leaking: bool
    conclusive: bool
    slope_mb_per_min: float
    tau: float
    third_slopes_mb_per_min: tuple[float, ...]
    reason: str


def theil_sen_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(len(xs))
        for j in range(i + 1, len(xs))
        if xs[j] != xs[i]
    ]
    return statistics.median(slopes) if slopes else 0.0


def kendall_tau(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Concordant minus discordant pairs over all pairs (tau-a): 1 rises only, -1 falls only."""
    pairs = score = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            pairs += 1
            product = (xs[j] - xs[i]) * (ys[j] - ys[i])
            score += (product > 0) - (product < 0)
    return score / pairs if pairs else 0.0


def leak_check(
    times_s: Sequence[float],
    rss_mb: Sequence[float],
    *,
    warmup_s: float,
    max_slope_mb_per_min: float = 1.0,
    min_tau: float = 0.5,
) -> LeakVerdict:
    """Whether ``rss_mb`` sampled at ``times_s`` grows steadily after ``warmup_s``."""
    kept = [(t / 60, m) for t, m in zip(times_s, rss_mb, strict=True) if t >= warmup_s]
    if len(kept) < MIN_SAMPLES:
        reason = f"{len(kept)} samples after the warm-up, fewer than {MIN_SAMPLES}: no verdict"
        return LeakVerdict(False, False, 0.0, 0.0, (), reason)
    minutes, mb = [t for t, _ in kept], [m for _, m in kept]
    slope = theil_sen_slope(minutes, mb)
    tau = kendall_tau(minutes, mb)
    size = len(kept) // 3
    bounds = [(0, size), (size, 2 * size), (2 * size, len(kept))]
    thirds = tuple(theil_sen_slope(minutes[a:b], mb[a:b]) for a, b in bounds)
    if slope <= max_slope_mb_per_min:
        reason = f"slope {slope:.2f} MB/min within {max_slope_mb_per_min}"
    elif tau < min_tau:
        reason = f"slope {slope:.2f} MB/min but no steady trend (tau {tau:.2f} < {min_tau})"
    elif min(thirds) <= max_slope_mb_per_min / 2:
        reason = f"slope {slope:.2f} MB/min but growth stopped in a third ({_fmt(thirds)})"
    else:
        reason = f"steady growth: {slope:.2f} MB/min, tau {tau:.2f}, thirds {_fmt(thirds)}"
        return LeakVerdict(True, True, slope, tau, thirds, reason)
    return LeakVerdict(False, True, slope, tau, thirds, reason)


def error_spikes(
    errors_per_window: Sequence[int],
    *,
    max_per_window: int,
    stalled: Sequence[bool] = (),
    settle_windows: int = 2,
) -> tuple[list[int], list[int]]:
    """Windows whose error count is above ``max_per_window``: (spikes, excused).

    A spike in a window where the load client itself stalled (``stalled``: it could not keep
    its 20 ms clock, so the whole machine did not run it), or in the ``settle_windows`` after
    one (a timeout counts wall time, stall included), is excused: reported, not judged.
    """
    over = [i for i, count in enumerate(errors_per_window) if count > max_per_window]
    stalls = [i for i, s in enumerate(stalled) if s]
    excused = [i for i in over if any(0 <= i - s <= settle_windows for s in stalls)]
    return [i for i in over if i not in excused], excused


def _fmt(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)
