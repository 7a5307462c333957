"""The soak's leak check on synthetic RSS series (bench/leak_check.py)."""

import random
import statistics

from bench.leak_check import error_spikes, kendall_tau, leak_check, theil_sen_slope

TIMES = [10.0 * i for i in range(61)]  # a 10-minute soak sampled every 10 s
WARMUP = 60.0


def noise(seed: int, scale: float) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0, scale) for _ in TIMES]


def test_steady_growth_fails() -> None:
    rss = [300 + 2.0 * t / 60 + n for t, n in zip(TIMES, noise(1, 0.8), strict=True)]
    verdict = leak_check(TIMES, rss, warmup_s=WARMUP)
    assert verdict.leaking and verdict.conclusive, verdict
    assert 1.7 < verdict.slope_mb_per_min < 2.3


def test_slow_growth_in_a_noisy_series_fails() -> None:
    rss = [300 + 1.5 * t / 60 + n for t, n in zip(TIMES, noise(2, 2.0), strict=True)]
    assert leak_check(TIMES, rss, warmup_s=WARMUP).leaking


def test_plateau_passes() -> None:
    # Grows fast for three minutes, then holds: a pool filling up, not a leak.
    rss = [300 + 10 * min(t, 180) / 60 + n for t, n in zip(TIMES, noise(3, 0.3), strict=True)]
    verdict = leak_check(TIMES, rss, warmup_s=WARMUP)
    assert not verdict.leaking and verdict.conclusive, verdict


def test_noisy_flat_passes() -> None:
    rss = [300 + n for n in noise(4, 5.0)]
    verdict = leak_check(TIMES, rss, warmup_s=WARMUP)
    assert not verdict.leaking, verdict
    assert abs(verdict.slope_mb_per_min) < 1.0


def test_a_single_step_then_flat_passes() -> None:
    # A cache warming at minute 4: 20 MB at once, then flat. The overall slope is positive.
    rss = [300 + (20 if t >= 240 else 0) + n for t, n in zip(TIMES, noise(5, 0.3), strict=True)]
    kept = [(t / 60, m) for t, m in zip(TIMES, rss, strict=True) if t >= WARMUP]
    least_squares = statistics.linear_regression(*zip(*kept, strict=True)).slope
    assert least_squares > 2.0  # a plain fit of the line alone would call it a leak
    assert not leak_check(TIMES, rss, warmup_s=WARMUP).leaking


def test_a_step_late_in_the_run_passes() -> None:
    rss = [300 + (20 if t >= 500 else 0) + n for t, n in zip(TIMES, noise(6, 0.3), strict=True)]
    assert not leak_check(TIMES, rss, warmup_s=WARMUP).leaking


def test_growth_during_the_warmup_only_passes() -> None:
    rss = [300 + 30 * min(t, 50) / 50 + n for t, n in zip(TIMES, noise(7, 0.3), strict=True)]
    assert not leak_check(TIMES, rss, warmup_s=WARMUP).leaking


def test_too_few_samples_give_no_verdict() -> None:
    verdict = leak_check([0, 10, 20, 30], [1, 50, 100, 150], warmup_s=0)
    assert not verdict.conclusive and not verdict.leaking


def test_theil_sen_ignores_an_outlier_and_tau_sees_the_direction() -> None:
    xs = [float(i) for i in range(10)]
    ys = [2 * x for x in xs]
    ys[5] = 500
    assert theil_sen_slope(xs, ys) == 2
    assert kendall_tau(xs, [-y for y in ys]) < -0.5


def test_error_spikes_name_the_windows_over_the_bound() -> None:
    assert error_spikes([0, 1, 0, 5, 2], max_per_window=2) == ([3], [])
    assert error_spikes([], max_per_window=0) == ([], [])


def test_a_spike_during_or_just_after_a_stall_of_the_load_client_is_excused_not_hidden() -> None:
    errors = [0, 3, 0, 4, 0, 0, 6]
    stalled = [False, False, True, False, False, False, False]
    assert error_spikes(errors, max_per_window=1, stalled=stalled) == ([1, 6], [3])
