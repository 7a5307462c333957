"""The event catalog's contract: published schemas never change without a version bump."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.events.catalog import CALL_EVENTS
from shared.events.registry import DEFAULT_REGISTRY
from shared.events.schema import SchemaChangedError, export_schemas, render, write_schemas

SNAPSHOTS = Path(__file__).parent / "schemas"
LIVE = export_schemas()


@pytest.mark.parametrize("name", sorted(LIVE))
def test_schema_matches_its_published_snapshot(name: str) -> None:
    snapshot = SNAPSHOTS / name
    assert snapshot.exists(), (
        f"{name} has no snapshot: run `make schemas` to publish this new event version"
    )
    assert render(LIVE[name]) == snapshot.read_text(), (
        f"{name} changed without a version bump. Consumers depend on the published schema: "
        "add a new payload version with an upcaster instead (see docs/events.md)."
    )


def test_every_snapshot_belongs_to_a_registered_event() -> None:
    # A removed event version would strand consumers still reading old records.
    assert {p.name for p in SNAPSHOTS.glob("*.json")} == set(LIVE)


def test_the_catalog_has_the_design_events() -> None:
    names = {model.event_type for model in CALL_EVENTS}
    assert names >= {
        "call.started", "call.ended", "transcript.user", "transcript.agent", "interruption",
        "tool.call", "tool.result", "turn.metrics", "sentiment.scored", "escalation.requested",
        "escalation.assigned", "handoff.completed", "handoff.failed",
    }  # fmt: skip
    assert all(DEFAULT_REGISTRY.latest_version(name) for name in names)


def test_publishing_refuses_to_overwrite_a_changed_schema(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    target = tmp_path / "call.started.v1.json"
    edited = json.loads(target.read_text())
    edited["properties"]["caller"]["maxLength"] = 5
    target.write_text(json.dumps(edited))
    with pytest.raises(SchemaChangedError):
        write_schemas(tmp_path)
    assert json.loads(target.read_text())["properties"]["caller"]["maxLength"] == 5


def test_an_escalation_requested_v1_record_decodes_as_v2() -> None:
    from shared.events import Envelope, EscalationRequested

    old = Envelope(
        type="escalation.requested",
        version=1,
        call_id="sess_1",
        source="session",
        payload={"rule_id": "anger", "reasons": ["angry"], "score": -0.8, "queue": "tier1"},
    )
    decoded = DEFAULT_REGISTRY.decode(old)
    assert isinstance(decoded, EscalationRequested)
    assert (decoded.rule_id, decoded.queue, decoded.priority, decoded.evidence) == (
        "anger", "tier1", 0, []
    )  # fmt: skip
