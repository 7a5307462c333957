"""Support lines as the gateway serves them (pure data; loading is an adapter's job)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SupportLine(BaseModel):
    """The parts of ``config/lines/<line_id>.yaml`` the gateway uses today."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(max_length=200)
    language: str = Field("en", max_length=20)
    greeting: str | None = Field(None, max_length=2000)
    system_prompt: str = Field("", max_length=20_000)
    store_hours: str | None = Field(None, max_length=2000)
    # sha256 of the file's bytes, set by the loader.
    config_hash: str = ""
