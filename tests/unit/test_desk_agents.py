"""The desk's agents file: validated at start-up, hashes only, keys matched like API keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.session.adapters.agents_yaml import (
    DEFAULT_AGENTS_FILE,
    AgentsConfigError,
    load_agents,
)
from services.session.domain.agents import AgentDirectory
from shared.auth import hash_key


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "agents.yaml"
    path.write_text(body)
    return path


def test_the_shipped_file_has_the_demo_agent_when_its_hash_is_set() -> None:
    key = "sb_desk_demo"
    agents = load_agents(DEFAULT_AGENTS_FILE, env={"DESK_KEY_HASH": hash_key(key)}).agents
    assert [(a.agent_id, a.queues) for a in agents] == [("demo-agent", ("retail-support",))]
    directory = AgentDirectory(agents)
    found = directory.by_key(key)
    assert found is not None and found.agent_id == "demo-agent"
    assert directory.by_key("sb_desk_other") is None
    assert directory.by_key(None) is None and directory.by_key("x" * 500) is None


def test_an_agent_whose_hash_variable_is_unset_is_left_out() -> None:
    assert load_agents(DEFAULT_AGENTS_FILE, env={}).agents == ()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            "agents:\n  - {agent_id: a, name: A, queues: [q], key_hash: 'plain-key'}\n",
            "agents.0.key_hash",
        ),
        (
            "agents:\n  - {agent_id: a, name: A, queues: [], key_hash: 'sha256:"
            + "0" * 64
            + "'}\n",
            "agents.0.queues",
        ),
        (
            "agents:\n"
            "  - {agent_id: a, name: A, queues: [q], key_hash: 'sha256:" + "0" * 64 + "'}\n"
            "  - {agent_id: a, name: B, queues: [q], key_hash: 'sha256:" + "1" * 64 + "'}\n",
            "unique",
        ),
        ("agents: {}\n", "'agents' list"),
        ("agents: [\n", "not valid YAML"),
    ],
)
def test_an_invalid_file_fails_naming_the_field(tmp_path: Path, body: str, problem: str) -> None:
    with pytest.raises(AgentsConfigError) as error:
        load_agents(write(tmp_path, body), env={})
    assert problem in str(error.value) and "agents.yaml" in str(error.value)
