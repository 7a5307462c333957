"""What survives a dropped connection: enough of a session to resume it elsewhere (pure)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A dropped session can be resumed for this long (protocol doc: 30 s).
RESUME_WINDOW_S = 30


class Checkpoint(BaseModel):
    """A session's resumable state, written to the session store as it changes."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    owner: str  # sha256 of the API key that opened it: another key's resume is forbidden
    line_id: str
    gateway_id: str
    state: Literal["live", "dropped"] = "live"
    started_at: float
    max_session_s: int
    config: dict[str, Any]
    context: list[dict[str, Any]] = Field(default_factory=list)
    # Client tool calls still waiting for tool.result: call_id -> (name, started_at).
    pending_tools: dict[str, tuple[str, float]] = Field(default_factory=dict)
    audio_seconds: float = 0.0
    turns: int = 0
    paused: bool = False
    whispers: list[str] = Field(default_factory=list)

    @field_validator("context", "whispers", mode="before")
    @classmethod
    def _empty_list(cls, value: Any) -> Any:
        # Redis's Lua cjson writes an empty list back as an empty object.
        return [] if value == {} else value


class TokenGrant(BaseModel):
    """What a temporary token (``GET /v1/token``) lets its single user do."""

    model_config = ConfigDict(extra="ignore")

    owner: str
    max_session_s: int
