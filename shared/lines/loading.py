"""Load support lines from ``config/lines/*.yaml`` and tool specs from ``config/tools/*.yaml``.

An invalid file fails start-up loudly, with the file and the field. A line names shared tools by
reference (``tools: [order_status, ...]``) or defines one inline (a mapping); its ``config_hash``
covers the line file and the specs it uses, so a changed tool description is a new version too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.lines.model import SupportLine, ToolSpec

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_LINES_DIR = CONFIG_DIR / "lines"
DEFAULT_TOOLS_DIR = CONFIG_DIR / "tools"
MAX_CONFIG_FILE_BYTES = 1_000_000


class LineConfigError(ValueError):
    """A config file is unreadable or invalid; the message names the file and the field."""


def _read_yaml(path: Path) -> Any:
    raw = path.read_bytes()
    if len(raw) > MAX_CONFIG_FILE_BYTES:
        raise LineConfigError(f"{path}: larger than {MAX_CONFIG_FILE_BYTES} bytes")
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise LineConfigError(f"{path}: not valid YAML ({exc})") from exc


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def load_tool_specs(directory: Path = DEFAULT_TOOLS_DIR) -> dict[str, ToolSpec]:
    """Every shared tool spec by name (``tools:`` list in each file)."""
    specs: dict[str, ToolSpec] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("tools"), list):
            raise LineConfigError(f"{path}: expected a mapping with a 'tools' list")
        for index, item in enumerate(data["tools"]):
            try:
                spec = ToolSpec.model_validate(item)
            except ValidationError as exc:
                raise LineConfigError(f"{path}: tools.{index}: {_problems(exc)}") from exc
            if spec.name in specs:
                raise LineConfigError(f"{path}: tool {spec.name!r} is defined twice")
            specs[spec.name] = spec
    return specs


def load_lines(
    directory: Path = DEFAULT_LINES_DIR, tools: dict[str, ToolSpec] | None = None
) -> dict[str, SupportLine]:
    """Every line in ``directory`` by id, its tool references resolved."""
    if tools is None:
        tools = load_tool_specs(directory.parent / "tools")
    lines: dict[str, SupportLine] = {}
    for path in sorted(directory.glob("*.yaml")):
        data = _read_yaml(path)
        if not isinstance(data, dict):
            raise LineConfigError(f"{path}: not a YAML mapping")
        digest = hashlib.sha256(path.read_bytes())
        resolved: list[Any] = []
        for item in data.get("tools") or []:
            if isinstance(item, str):
                if item not in tools:
                    raise LineConfigError(f"{path}: tools: unknown tool {item!r}")
                spec = tools[item]
                digest.update(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode())
                resolved.append(spec)
            else:
                resolved.append(item)
        try:
            line = SupportLine.model_validate(
                {**data, "tools": resolved, "config_hash": "sha256:" + digest.hexdigest()}
            )
        except ValidationError as exc:
            raise LineConfigError(f"{path}: {_problems(exc)}") from exc
        if line.line_id != path.stem:
            raise LineConfigError(f"{path}: line_id {line.line_id!r} must match the file name")
        for number in line.phone_numbers:
            owner = next((o for o in lines.values() if number in o.phone_numbers), None)
            if owner is not None:
                raise LineConfigError(f"{path}: phone number {number} is {owner.line_id}'s too")
        lines[line.line_id] = line
    return lines
