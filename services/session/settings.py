"""Settings of the session service, composed of the shared blocks."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.lines import DEFAULT_LINES_DIR
from shared.settings import (
    AuthSettings,
    HttpSettings,
    KafkaSettings,
    RedisSettings,
    TelemetrySettings,
)


class SessionSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    port: int = Field(8081, validation_alias=AliasChoices("SESSION_PORT"))
    # This instance's name on the bus (the ``source`` of what it publishes).
    session_id: str = Field(
        "session-1", max_length=100, validation_alias=AliasChoices("SESSION_ID")
    )
    consumer_group: str = Field("session", validation_alias=AliasChoices("SESSION_CONSUMER_GROUP"))
    # The group reading cc.call-control.v1 for supervisors' takeovers (its own offsets);
    # default ``<consumer_group>-control``.
    control_consumer_group_name: str | None = Field(
        None, min_length=1, validation_alias=AliasChoices("SESSION_CONTROL_CONSUMER_GROUP")
    )
    # Where the support lines (and so the escalation rules) are configured.
    lines_dir: Path = Field(DEFAULT_LINES_DIR, validation_alias=AliasChoices("LINES_DIR"))
    # How often the line files are checked for changes (rules reload without a restart).
    rules_reload_s: float = Field(
        2.0, gt=0, le=300, validation_alias=AliasChoices("SESSION_RULES_RELOAD_S")
    )
    # Largest page of ``GET /v1/sessions``.
    max_page_size: int = Field(500, ge=1, le=10_000)
    # The analytics API, read by the rule backtest (an analyst key is enough).
    analytics_url: str = Field(
        "http://127.0.0.1:8083", validation_alias=AliasChoices("SESSION_ANALYTICS_URL")
    )
    analytics_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SESSION_ANALYTICS_KEY")
    )
    # A backtest reads at most this many calls (each is one request to the analytics API).
    backtest_max_calls: int = Field(2_000, ge=1, le=100_000)
    # The agent desk's agents, queues and key hashes (docs/handoff.md section 4).
    agents_file: Path = Field(
        Path(__file__).resolve().parents[2] / "config" / "agents.yaml",
        validation_alias=AliasChoices("SESSION_AGENTS_FILE"),
    )
    http: HttpSettings = Field(default_factory=HttpSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def control_consumer_group(self) -> str:
        return self.control_consumer_group_name or f"{self.consumer_group}-control"
