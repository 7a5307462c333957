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
