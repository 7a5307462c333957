"""JSON Schema export of the event catalog: ``python -m shared.events.schema OUT_DIR``.

One file per ``<type>.v<version>.json`` plus ``envelope.json``. The contract test compares the
live schemas with the committed snapshots under ``tests/contract/schemas``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.events.envelope import Envelope
from shared.events.registry import DEFAULT_REGISTRY, EventRegistry


def export_schemas(registry: EventRegistry = DEFAULT_REGISTRY) -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema for the envelope and every registered payload model."""
    schemas: dict[str, dict[str, Any]] = {"envelope.json": Envelope.model_json_schema()}
    for model in registry.models():
        schema = model.model_json_schema()
        schema["x-event-type"] = model.event_type
        schema["x-event-version"] = model.event_version
        schemas[f"{model.event_type}.v{model.event_version}.json"] = schema
    return schemas


def render(schema: dict[str, Any]) -> str:
    """The canonical text of a schema snapshot."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


class SchemaChangedError(RuntimeError):
    """A published (type, version) schema would change: bump the version instead."""


def write_schemas(
    out_dir: Path, registry: EventRegistry = DEFAULT_REGISTRY, *, force: bool = False
) -> list[Path]:
    """Write snapshots for new versions. A changed snapshot is refused unless ``force``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in export_schemas(registry).items():
        path = out_dir / name
        text = render(schema)
        if path.exists() and path.read_text() != text and not force:
            raise SchemaChangedError(
                f"{name} changed: consumers of this version already depend on it. Add a new "
                "payload version with an upcaster (shared/events/registry.py) instead."
            )
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--force"]
    out = Path(args[0]) if args else Path("tests/contract/schemas")
    for path in write_schemas(out, force="--force" in argv):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
