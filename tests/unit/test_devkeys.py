"""`make up`'s development keys include the demo desk agent's, and an older file keeps its keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from infra.localstack import devkeys
from services.session.adapters.agents_yaml import DEFAULT_AGENTS_FILE, load_agents
from services.session.domain.agents import AgentDirectory


@pytest.fixture
def keys_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "dev-keys.env"
    monkeypatch.setattr(devkeys, "DEV_KEYS", path)
    monkeypatch.setattr(devkeys, "STATE", tmp_path)
    return path


def test_the_desk_key_opens_the_demo_agent(keys_file: Path) -> None:
    keys = devkeys.load_or_create()
    assert keys["DESK_KEY"].startswith("sb_desk_")
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    agents = load_agents(DEFAULT_AGENTS_FILE, env={"DESK_KEY_HASH": devkeys.desk_key_hash(keys)})
    found = AgentDirectory(agents.agents).by_key(keys["DESK_KEY"])
    assert found is not None and found.queues == ("retail-support",)
    assert devkeys.load_or_create() == keys  # stable once made


def test_a_file_from_before_the_desk_gains_a_desk_key_and_keeps_the_rest(keys_file: Path) -> None:
    old = {name: f"sb_{role}_old" for name, role in devkeys.KEY_ROLES.items()}
    old["TWILIO_AUTH_TOKEN"] = "twilio-old"
    keys_file.write_text("".join(f"{k}={v}\n" for k, v in old.items()))
    keys = devkeys.load_or_create()
    assert {k: keys[k] for k in old} == old
    assert keys["DESK_KEY"].startswith("sb_desk_")
    assert "DESK_KEY=" in keys_file.read_text()
