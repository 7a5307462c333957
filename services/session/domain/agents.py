"""The human agents who may sign in to the desk: who they are, their queues, their key's hash.

Desk keys are random tokens (like API keys, shared/auth.py), so a plain SHA-256 is a sound
stored form; a presented key is hashed and compared against every entry in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A desk is staffed by people: a file with more agents than this is a mistake.
MAX_AGENTS_CONFIGURED = 1_000
# A presented key longer than this is refused before hashing.
MAX_KEY_CHARS = 200


class AgentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agent_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    name: str = Field(min_length=1, max_length=200)
    # Skills: the queues (lines' ``human_queue``) this agent answers.
    queues: tuple[str, ...] = Field(min_length=1, max_length=50)
    key_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")

    @property
    def digest(self) -> bytes:
        return bytes.fromhex(self.key_hash.removeprefix("sha256:"))


class AgentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agents: tuple[AgentConfig, ...] = Field(default=(), max_length=MAX_AGENTS_CONFIGURED)

    @model_validator(mode="after")
    def _unique(self) -> AgentsFile:
        ids = [a.agent_id for a in self.agents]
        if len(ids) != len(set(ids)):
            raise ValueError("agent_id values must be unique")
        hashes = [a.key_hash for a in self.agents]
        if len(hashes) != len(set(hashes)):
            raise ValueError("two agents share a key")
        return self


class AgentDirectory:
    """Finds the agent a desk key belongs to."""

    def __init__(self, agents: tuple[AgentConfig, ...] | list[AgentConfig]) -> None:
        self.agents = tuple(agents)

    def by_key(self, key: object) -> AgentConfig | None:
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS:
            return None
        digest = hashlib.sha256(key.encode()).digest()
        found: AgentConfig | None = None
        # Compare against every entry, always, so timing does not reveal which one matched.
        for agent in self.agents:
            if hmac.compare_digest(digest, agent.digest):
                found = agent
        return found
