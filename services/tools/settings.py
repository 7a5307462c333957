"""Settings of the tools service, composed of the shared blocks."""

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


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class ExecutionSettings(BaseSettings):
    """How tools run: concurrency, retries and circuit breakers (see docs/tools.md)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Commands executing at once in one process. At the bound the consumer stops fetching until
    # one finishes (the broker holds the rest; nothing is dropped).
    max_in_flight: int = Field(64, ge=1, le=10_000, validation_alias=_env("TOOLS_MAX_IN_FLIGHT"))
    # Calls at once per backend (the CRM; each HTTP tool). Waiting for a slot counts against
    # the command's deadline.
    crm_concurrency: int = Field(10, ge=1, le=500, validation_alias=_env("TOOLS_CRM_CONCURRENCY"))
    http_concurrency: int = Field(8, ge=1, le=500, validation_alias=_env("TOOLS_HTTP_CONCURRENCY"))
    # Attempts per command for retryable failures (reads; writes with an idempotency key).
    max_attempts: int = Field(3, ge=1, le=10, validation_alias=_env("TOOLS_MAX_ATTEMPTS"))
    # Consecutive failures that open a backend's breaker, and how long it stays open.
    breaker_failures: int = Field(5, ge=1, le=1000, validation_alias=_env("TOOLS_BREAKER_FAILURES"))
    breaker_reset_s: float = Field(
        10.0, gt=0, le=3600, validation_alias=_env("TOOLS_BREAKER_RESET_S")
    )


class MailSettings(BaseSettings):
    """Where confirmation emails go. No SMTP host: they are written to ``mail_dir`` instead."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    smtp_host: str = Field("", validation_alias=_env("TOOLS_SMTP_HOST"))
    smtp_port: int = Field(25, ge=1, le=65535, validation_alias=_env("TOOLS_SMTP_PORT"))
    smtp_timeout_s: float = Field(10.0, gt=0, le=120, validation_alias=_env("TOOLS_SMTP_TIMEOUT_S"))
    sender: str = Field("returns@acme-outfitters.example", validation_alias=_env("TOOLS_MAIL_FROM"))
    mail_dir: Path = Field(Path(".switchboard/mail"), validation_alias=_env("TOOLS_MAIL_DIR"))
    # The Celery queue of the tools worker (tests use their own).
    queue: str = Field("tools", max_length=100, validation_alias=_env("TOOLS_CELERY_QUEUE"))
    # Celery retries of a failed email before it is dead-lettered, and the first backoff.
    max_retries: int = Field(5, ge=0, le=50, validation_alias=_env("TOOLS_MAIL_MAX_RETRIES"))
    retry_backoff_s: float = Field(
        2.0, gt=0, le=600, validation_alias=_env("TOOLS_MAIL_RETRY_BACKOFF_S")
    )


class ToolsSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    port: int = Field(8082, validation_alias=_env("TOOLS_PORT"))
    # Schema of the CRM and the idempotency records; tests use a unique one each.
    db_schema: str = Field(
        "crm", pattern=r"^[a-z_][a-z0-9_]{0,62}$", validation_alias=_env("TOOLS_DB_SCHEMA")
    )
    consumer_group: str = Field("tools", validation_alias=_env("TOOLS_CONSUMER_GROUP"))
    lines_dir: Path = Field(DEFAULT_LINES_DIR, validation_alias=_env("LINES_DIR"))
    # Largest page the operator's CRM listings return.
    max_page_size: int = Field(200, ge=1, le=10_000)
    # Tool calls remembered for /v1/tools/stats, per tool (the oldest are forgotten first).
    stats_window: int = Field(2000, ge=10, le=1_000_000)

    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
