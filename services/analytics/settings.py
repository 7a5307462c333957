"""Settings of the analytics service, composed of the shared blocks."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.lines import DEFAULT_LINES_DIR
from shared.settings import (
    AuthSettings,
    HttpSettings,
    KafkaSettings,
    PostgresSettings,
    RedisSettings,
    TelemetrySettings,
)


class AnalyticsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    port: int = Field(8083, validation_alias=AliasChoices("ANALYTICS_PORT"))
    # Schema holding the call log; tests use a unique one each.
    db_schema: str = Field(
        "analytics",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        validation_alias=AliasChoices("ANALYTICS_DB_SCHEMA"),
    )
    consumer_group: str = Field(
        "analytics", validation_alias=AliasChoices("ANALYTICS_CONSUMER_GROUP")
    )
    # Retention of calls of lines that set none (a line's own ``retention_days`` wins).
    retention_days: int = Field(90, ge=1, validation_alias=AliasChoices("ANALYTICS_RETENTION_DAYS"))
    # The Celery queue of the scheduled jobs (beat sends to it, the analytics worker takes it).
    celery_queue: str = Field(
        "analytics", max_length=100, validation_alias=AliasChoices("ANALYTICS_CELERY_QUEUE")
    )
    # Where the support lines are configured (their retention periods).
    lines_dir: Path = Field(DEFAULT_LINES_DIR, validation_alias=AliasChoices("LINES_DIR"))
    # Live calls whose last caller turn is remembered (in memory only) to catch PII split
    # across two turns; beyond it the least recently active call is forgotten.
    caller_memory_calls: int = Field(10_000, ge=100, le=1_000_000)
    # Largest page the list endpoint returns.
    max_page_size: int = Field(500, ge=1, le=10_000)

    # The supervisor dashboard's live feed (docs/dashboard.md): a Kafka consumer and an
    # in-memory board in each process. Off: no consumer, the WebSocket closes 1013.
    live_enabled: bool = Field(True, validation_alias=AliasChoices("ANALYTICS_LIVE_ENABLED"))
    # Open calls loaded from the call log at start: those started within this many hours.
    live_bootstrap_hours: float = Field(
        4.0, gt=0, le=48, validation_alias=AliasChoices("ANALYTICS_LIVE_BOOTSTRAP_HOURS")
    )

    http: HttpSettings = Field(default_factory=HttpSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
