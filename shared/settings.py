"""Settings blocks shared by every service.

Each block reads its own environment variables. A service composes the blocks it needs into one
settings class, built once in ``__main__`` or the app factory and passed down; nothing here is
instantiated at import time.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_ENV = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)


class KafkaSettings(BaseSettings):
    """Where the event backbone is and how producers/consumers behave."""

    model_config = _ENV

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS")
    )
    # The embedded broker (tansu) rejects idempotent producers; Apache Kafka should use them.
    enable_idempotence: bool = Field(
        False, validation_alias=AliasChoices("KAFKA_ENABLE_IDEMPOTENCE")
    )
    # Prefixed onto every topic name: lets tests (and tenants) share one broker in isolation.
    topic_prefix: str = Field("", validation_alias=AliasChoices("KAFKA_TOPIC_PREFIX"))
    # Producer: events waiting for the broker. At the bound new events are dropped and counted.
    producer_buffer_size: int = Field(
        10_000, ge=1, validation_alias=AliasChoices("KAFKA_PRODUCER_BUFFER")
    )
    request_timeout_s: float = Field(
        5.0, gt=0, validation_alias=AliasChoices("KAFKA_REQUEST_TIMEOUT_S")
    )
    # Consumer runner.
    record_timeout_s: float = Field(
        10.0, gt=0, validation_alias=AliasChoices("KAFKA_RECORD_TIMEOUT_S")
    )
    max_attempts: int = Field(3, ge=1, validation_alias=AliasChoices("KAFKA_MAX_ATTEMPTS"))
    max_poll_records: int = Field(
        200, ge=1, validation_alias=AliasChoices("KAFKA_MAX_POLL_RECORDS")
    )
    # How long the broker may hold a fetch that finds nothing new. The live path (escalation,
    # call control) waits this long for an event that lands just after a fetch started; tansu
    # holds an empty fetch the whole time. Lower is faster, at the cost of more fetch requests
    # while idle (50 a second per consumer at 20 ms).
    fetch_max_wait_ms: int = Field(
        20, ge=0, le=5_000, validation_alias=AliasChoices("KAFKA_FETCH_MAX_WAIT_MS")
    )

    def topic(self, name: str) -> str:
        """The physical topic name for a logical one (``cc.call-events.v1``)."""
        return f"{self.topic_prefix}{name}"


class PostgresSettings(BaseSettings):
    """The relational store. The URL must use the asyncpg driver."""

    model_config = _ENV

    url: SecretStr = Field(
        SecretStr("postgresql+asyncpg://postgres@127.0.0.1:5432/switchboard"),
        validation_alias=AliasChoices("DATABASE_URL"),
    )
    pool_size: int = Field(5, ge=1, validation_alias=AliasChoices("DATABASE_POOL_SIZE"))
    # Seconds to wait for a connection or a statement before giving up (every wait is bounded).
    timeout_s: float = Field(5.0, gt=0, validation_alias=AliasChoices("DATABASE_TIMEOUT_S"))

    @field_validator("url", mode="before")
    @classmethod
    def _asyncpg_driver(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str):
            for plain in ("postgresql://", "postgres://"):
                if text.startswith(plain):
                    return "postgresql+asyncpg://" + text[len(plain) :]
        return value


class RedisSettings(BaseSettings):
    """The cache and Celery broker."""

    model_config = _ENV

    url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"), validation_alias=AliasChoices("REDIS_URL")
    )
    timeout_s: float = Field(2.0, gt=0, validation_alias=AliasChoices("REDIS_TIMEOUT_S"))
    # Prefixed onto every key this deployment writes (tests use a unique one each).
    key_prefix: str = Field("sb:", validation_alias=AliasChoices("REDIS_KEY_PREFIX"))


class TelemetrySettings(BaseSettings):
    """Tracing, metrics and logging."""

    model_config = _ENV

    otlp_endpoint: str | None = Field(
        None, validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )
    # Share of new traces (caller turns) kept, 0..1. A span whose trace started in another
    # service follows that service's decision, so a trace is kept whole or not at all.
    trace_sample_ratio: float = Field(
        1.0, ge=0.0, le=1.0, validation_alias=AliasChoices("OTEL_TRACES_SAMPLER_ARG")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    # "json" in production; "text" is easier to read in a terminal.
    log_format: str = Field("json", validation_alias=AliasChoices("LOG_FORMAT"))


class AuthSettings(BaseSettings):
    """API keys, configured as hashes: ``role=sha256:<hex>`` entries, comma separated."""

    model_config = _ENV

    key_hashes: str = Field("", validation_alias=AliasChoices("AUTH_KEY_HASHES"))
    # Requests one key may make, per moving window ("600/minute", "20/second"); beyond: 429.
    rate_limit: str = Field(
        "600/minute",
        pattern=r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$",
        validation_alias=AliasChoices("AUTH_RATE_LIMIT"),
    )


class HttpSettings(BaseSettings):
    """Where a service listens. Each service sets its own default port."""

    model_config = _ENV

    host: str = Field("127.0.0.1", validation_alias=AliasChoices("HTTP_HOST"))
    # The largest HTTP request body a service reads (declared or streamed); beyond it: 413,
    # before any key check or endpoint runs (shared.http.body_limit).
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=64 * 1_048_576, validation_alias=AliasChoices("HTTP_MAX_BODY_BYTES")
    )
