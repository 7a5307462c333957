"""The topic specs cover the architecture's topics, with call_id-friendly partitioning."""

from __future__ import annotations

from shared.kafka.consumer import DLQ_TOPIC
from shared.kafka.topics import load_topic_specs


def test_topic_specs_cover_the_backbone() -> None:
    specs = {spec.name: spec for spec in load_topic_specs()}
    assert set(specs) == {
        "cc.call-events.v1",
        "cc.tool-requests.v1",
        "cc.tool-results.v1",
        "cc.call-control.v1",
        DLQ_TOPIC,
    }
    for spec in specs.values():
        assert spec.partitions >= 3
        assert int(spec.config["retention.ms"]) <= 14 * 24 * 3600 * 1000  # raw PII: short
