"""Prometheus metrics shared by the event backbone code of every service.

prometheus_client keeps one process-wide registry; the metric objects are declared once here so
that two modules never register the same name twice.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "switchboard_events_published_total",
    "Records acknowledged by the broker.",
    ["topic"],
)
EVENTS_DROPPED = Counter(
    "switchboard_events_dropped_total",
    "Records dropped by a producer because its buffer was full or it was closed.",
    ["topic", "reason"],
)
PRODUCER_BUFFERED = Gauge(
    "switchboard_producer_buffered_events",
    "Records waiting in a producer's buffer for the broker.",
)
PUBLISH_RETRIES = Counter(
    "switchboard_producer_retries_total",
    "Sends retried after a broker error.",
    ["topic"],
)
CONSUMER_RECORDS = Counter(
    "switchboard_consumer_records_total",
    "Records a consumer finished, by outcome (ok, duplicate, dead_lettered).",
    ["group", "topic", "outcome"],
)
CONSUMER_LAG = Gauge(
    "switchboard_consumer_lag",
    "Records between a consumer group's position and the partition end.",
    ["group", "topic"],
)
HANDLER_SECONDS = Histogram(
    "switchboard_consumer_handler_seconds",
    "Time a consumer's handler took per record.",
    ["group", "topic"],
)
REDACTIONS = Counter(
    "switchboard_redactions_total",
    "Spans of personal data replaced before anything was persisted, by entity type.",
    ["entity"],
)
REDACTION_SECONDS = Histogram(
    "switchboard_redaction_seconds",
    "Time to redact one text.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
TOOL_DURATION = Histogram(
    "switchboard_tool_duration_seconds",
    "Time from a tool call to its outcome, by tool and status (ok, error, timeout). Server tools "
    "are observed where they run (the tools service), client tools by the gateway that waited.",
    ["tool", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0),
)
HANDOFFS = Counter(
    "switchboard_handoffs_total",
    "Handoffs to a person by outcome: assigned to a desk agent, failed (no agent in time, a "
    "takeover or transfer that did not connect, a bridge lost), completed (connected).",
    ["outcome"],
)

# Label values that come from events (an end reason, a handoff failure) are free text in the
# schema; a label keeps at most this many distinct values per metric, later ones count as "other".
MAX_LABEL_VALUES = 50
OTHER = "other"


class BoundedLabel:
    """The values one label may take, learned as they come, capped at ``MAX_LABEL_VALUES``.

    At the cap a new value is reported as ``"other"``: a time series per value is kept bounded
    whatever a producer writes. Values longer than 40 characters or not ``[a-z0-9_]`` are ``other``.
    """

    def __init__(self, known: frozenset[str] = frozenset()) -> None:
        self._seen: set[str] = set(known)

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        plain = 0 < len(value) <= 40 and all(c.isalnum() or c == "_" for c in value)
        if not plain or not value.isascii() or value != value.lower():
            return OTHER
        if len(self._seen) >= MAX_LABEL_VALUES:
            return OTHER
        self._seen.add(value)
        return value
