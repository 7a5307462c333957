"""Contact-center figures from per-day, per-line rows (pure).

Voice-to-voice latency is kept as a histogram with geometric buckets (each 10 % wider than the
one before, from 10 ms to about two minutes) so days and lines merge exactly and a percentile
over any range costs no scan of raw turns. A percentile is reported as its bucket's upper
bound: at most 10 % above the true value, never below it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

BUCKET_BASE_MS = 10.0
BUCKET_GROWTH = 1.1
BUCKETS = 100  # the last bucket holds everything above ~124 s

# The same bucketing in SQL (used by the live query and the rollup job).
SQL_BUCKET = (
    f"least({BUCKETS - 1}, greatest(0, ceil(ln(greatest(voice_to_voice_ms, {BUCKET_BASE_MS}) "
    f"/ {BUCKET_BASE_MS}) / ln({BUCKET_GROWTH}))))::int"
)


def bucket_of(ms: float) -> int:
    """The histogram bucket of a latency in ms (mirrors ``SQL_BUCKET``)."""
    ratio = max(ms, BUCKET_BASE_MS) / BUCKET_BASE_MS
    return min(BUCKETS - 1, max(0, math.ceil(math.log(ratio) / math.log(BUCKET_GROWTH))))


def bucket_upper_ms(bucket: int) -> float:
    return BUCKET_BASE_MS * BUCKET_GROWTH**bucket


def percentile(hist: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a histogram, as its bucket's upper bound; None if empty."""
    total = sum(hist.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= rank:
            return round(bucket_upper_ms(bucket), 1)
    return round(bucket_upper_ms(max(hist)), 1)  # unreachable: seen reaches total


_ADDITIVE = (
    "calls", "ended", "contained", "escalated", "abandoned", "handle_time_sum_s", "tool_calls",
    "tool_errors", "tool_timeouts",
)  # fmt: skip


@dataclass
class DailyRow:
    """The figures of one line on one day (a rollup row, or the same computed live)."""

    day: date
    line_id: str
    calls: int = 0
    ended: int = 0
    contained: int = 0
    escalated: int = 0
    abandoned: int = 0
    handle_time_sum_s: float = 0.0
    tool_calls: int = 0
    tool_errors: int = 0
    tool_timeouts: int = 0
    v2v_hist: dict[int, int] = field(default_factory=dict)

    def add(self, other: DailyRow) -> None:
        for name in _ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for bucket, count in other.v2v_hist.items():
            self.v2v_hist[bucket] = self.v2v_hist.get(bucket, 0) + count


def figures(row: DailyRow) -> dict[str, Any]:
    """The published figures of a (merged) row."""
    decided = row.contained + row.escalated
    return {
        "calls": row.calls,
        "ended": row.ended,
        "contained": row.contained,
        "escalated": row.escalated,
        "abandoned": row.abandoned,
        # Of the calls that reached an end with a caller who spoke: kept by the AI.
        "containment_rate": _ratio(row.contained, decided),
        "escalation_rate": _ratio(row.escalated, row.ended),
        "average_handle_time_s": _ratio(row.handle_time_sum_s, row.ended, digits=1),
        "voice_to_voice_p50_ms": percentile(row.v2v_hist, 0.50),
        "voice_to_voice_p95_ms": percentile(row.v2v_hist, 0.95),
        "turns_measured": sum(row.v2v_hist.values()),
        "tool_calls": row.tool_calls,
        "tool_error_rate": _ratio(row.tool_errors, row.tool_calls),
        "tool_timeout_rate": _ratio(row.tool_timeouts, row.tool_calls),
    }


def summarise(rows: Iterable[DailyRow]) -> dict[str, Any]:
    """Totals, by line, and by day (each with the same figures)."""
    total = DailyRow(day=date.min, line_id="*")
    by_line: dict[str, DailyRow] = defaultdict(lambda: DailyRow(day=date.min, line_id=""))
    by_day: dict[date, DailyRow] = defaultdict(lambda: DailyRow(day=date.min, line_id="*"))
    for row in rows:
        total.add(row)
        by_line[row.line_id].add(row)
        by_day[row.day].add(row)
    return {
        "total": figures(total),
        "by_line": [{"line_id": line, **figures(r)} for line, r in sorted(by_line.items())],
        "by_day": [{"day": day.isoformat(), **figures(r)} for day, r in sorted(by_day.items())],
    }


def _ratio(part: float, whole: float, *, digits: int = 4) -> float | None:
    return round(part / whole, digits) if whole else None


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: ``[(first, last), ...]``."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
