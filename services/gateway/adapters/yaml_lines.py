"""Load support lines from ``config/lines/*.yaml``; an invalid file fails start-up loudly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from services.gateway.domain.lines import SupportLine

DEFAULT_LINES_DIR = Path(__file__).resolve().parents[3] / "config" / "lines"
MAX_LINE_FILE_BYTES = 1_000_000


class LineConfigError(ValueError):
    """A line file is unreadable or invalid; the message names the file and the field."""


def load_lines(directory: Path = DEFAULT_LINES_DIR) -> dict[str, SupportLine]:
    """Every line in ``directory`` by id."""
    lines: dict[str, SupportLine] = {}
    for path in sorted(directory.glob("*.yaml")):
        raw = path.read_bytes()
        if len(raw) > MAX_LINE_FILE_BYTES:
            raise LineConfigError(f"{path}: larger than {MAX_LINE_FILE_BYTES} bytes")
        try:
            data = yaml.safe_load(raw)
            line = SupportLine.model_validate(
                {**data, "config_hash": "sha256:" + hashlib.sha256(raw).hexdigest()}
            )
        except (yaml.YAMLError, TypeError) as exc:
            raise LineConfigError(f"{path}: not a YAML mapping ({exc})") from exc
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise LineConfigError(f"{path}: {problems}") from exc
        if line.line_id != path.stem:
            raise LineConfigError(f"{path}: line_id {line.line_id!r} must match the file name")
        lines[line.line_id] = line
    return lines
