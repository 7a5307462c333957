"""The dashboard's KPI tiles: the last hour's figures, with one point a minute (pure).

The figures are the analyst API's (``stats.figures``), over a rolling hour instead of a day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from services.analytics.domain.stats import DailyRow, figures, percentile

WINDOW_S = 3600
MINUTES = WINDOW_S // 60


@dataclass
class KpiInputs:
    """The last hour as the call log has it: totals, and calls and latencies per minute."""

    total: DailyRow = field(default_factory=lambda: DailyRow(day=date.min, line_id="*"))
    # Minute (UTC, truncated) -> calls first seen in it / its latency histogram.
    calls_by_minute: dict[datetime, int] = field(default_factory=dict)
    v2v_by_minute: dict[datetime, dict[int, int]] = field(default_factory=dict)


def window_start(now: datetime) -> datetime:
    """The first minute of the hour ending with ``now``'s minute."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=MINUTES - 1)


def kpis(inputs: KpiInputs, *, now: datetime, active_calls: int) -> dict[str, Any]:
    """The ``Kpis`` message body of docs/dashboard.md."""
    figures_ = figures(inputs.total)
    first = window_start(now)
    series = []
    for n in range(MINUTES):
        minute = first + timedelta(minutes=n)
        series.append(
            {
                "minute": minute.isoformat(),
                "calls": inputs.calls_by_minute.get(minute, 0),
                "v2v_p95_ms": percentile(inputs.v2v_by_minute.get(minute, {}), 0.95),
            }
        )
    return {
        "window_s": WINDOW_S,
        "active_calls": active_calls,
        "calls": inputs.total.calls,
        "containment": figures_["containment_rate"],
        "escalation_rate": figures_["escalation_rate"],
        "v2v_p95_ms": figures_["voice_to_voice_p95_ms"],
        "tool_error_rate": figures_["tool_error_rate"],
        "series": series,
    }
