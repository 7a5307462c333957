"""Per-tool call statistics for ``GET /v1/tools/stats`` (in memory, per process, bounded)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_values: list[int], q: float) -> int | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _ToolCounters:
    window: deque[int]
    calls: int = 0
    ok: int = 0
    errors: int = 0
    timeouts: int = 0


@dataclass
class ToolStats:
    """Counts since start and latency percentiles over the last ``window`` calls of each tool."""

    window: int = 2000
    _tools: dict[str, _ToolCounters] = field(default_factory=dict)

    def record(self, tool: str, status: str, duration_ms: int) -> None:
        counters = self._tools.get(tool)
        if counters is None:
            # Bounded by the registry: only registered tool names reach here.
            counters = self._tools[tool] = _ToolCounters(deque(maxlen=self.window))
        counters.calls += 1
        counters.window.append(duration_ms)
        if status == "ok":
            counters.ok += 1
        elif status == "timeout":
            counters.timeouts += 1
        else:
            counters.errors += 1

    def snapshot(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for tool, c in sorted(self._tools.items()):
            ordered = sorted(c.window)
            out[tool] = {
                "calls": c.calls,
                "ok": c.ok,
                "errors": c.errors,
                "timeouts": c.timeouts,
                "p50_ms": percentile(ordered, 50),
                "p95_ms": percentile(ordered, 95),
                "window": len(ordered),
            }
        return out
