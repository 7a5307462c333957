"""Load ``config/agents.yaml``: the desk's agents, validated at start-up.

``key_hash`` may be ``${ENV_NAME}``: the hash then comes from the environment (how the demo
agent gets the hash of the ``DESK_KEY`` that ``make up`` writes to ``.switchboard/dev-keys.env``).
An agent whose variable is unset or empty is left out (logged), so a deployment without that
key simply has no such agent; anything else invalid fails start-up naming the file and field.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from services.session.domain.agents import AgentsFile

log = logging.getLogger(__name__)

DEFAULT_AGENTS_FILE = Path(__file__).resolve().parents[3] / "config" / "agents.yaml"
MAX_AGENTS_FILE_BYTES = 1_000_000
ENV_REFERENCE = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)\}$")


class AgentsConfigError(ValueError):
    """The agents file is unreadable or invalid; the message names the file and the field."""


def load_agents(
    path: Path = DEFAULT_AGENTS_FILE, env: Mapping[str, str] | None = None
) -> AgentsFile:
    environ = os.environ if env is None else env
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AgentsConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    if len(raw) > MAX_AGENTS_FILE_BYTES:
        raise AgentsConfigError(f"{path}: larger than {MAX_AGENTS_FILE_BYTES} bytes")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise AgentsConfigError(f"{path}: not valid YAML ({exc})") from exc
    if data is None:
        data = {"agents": []}
    if not isinstance(data, dict) or not isinstance(data.get("agents", []), list):
        raise AgentsConfigError(f"{path}: expected a mapping with an 'agents' list")
    agents: list[Any] = []
    for item in data.get("agents") or []:
        if isinstance(item, dict) and isinstance(item.get("key_hash"), str):
            reference = ENV_REFERENCE.match(item["key_hash"])
            if reference is not None:
                value = environ.get(reference.group(1), "").strip()
                if not value:
                    log.warning(
                        "desk agent left out: its key hash variable is unset",
                        extra={"agent_id": item.get("agent_id"), "variable": reference.group(1)},
                    )
                    continue
                item = {**item, "key_hash": value}
        agents.append(item)
    try:
        return AgentsFile.model_validate({**data, "agents": agents})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise AgentsConfigError(f"{path}: {problems}") from exc
