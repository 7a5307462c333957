"""Settings of the gateway, composed of the shared blocks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.lines import DEFAULT_LINES_DIR
from shared.settings import (
    AuthSettings,
    HttpSettings,
    KafkaSettings,
    RedisSettings,
    TelemetrySettings,
)


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    port: int = Field(8080, validation_alias=AliasChoices("GATEWAY_PORT"))
    gateway_id: str = Field("gw-1", validation_alias=AliasChoices("GATEWAY_ID"))
    # Where agent desks reach this gateway's /v1/bridge (sent in call.started's attributes).
    # Unset: ws://127.0.0.1:<port>.
    public_url: str = Field("", max_length=500, validation_alias=AliasChoices("GATEWAY_PUBLIC_URL"))
    lines_dir: Path = Field(DEFAULT_LINES_DIR, validation_alias=AliasChoices("LINES_DIR"))
    default_line: str = Field("demo-retail", validation_alias=AliasChoices("DEFAULT_LINE"))
    # Sessions one process holds; the next is refused with at_capacity.
    max_sessions: int = Field(200, ge=1, validation_alias=AliasChoices("GATEWAY_MAX_SESSIONS"))
    # Sessions one key (or the tokens it issued) may hold at once on this gateway.
    max_sessions_per_key: int = Field(
        50, ge=1, validation_alias=AliasChoices("GATEWAY_MAX_SESSIONS_PER_KEY")
    )
    # Without a session.update by then, session.ready goes out with the default config.
    ready_timeout_s: float = Field(2.0, gt=0)
    # A client that sends nothing for this long is closed.
    idle_timeout_s: float = Field(
        300.0, gt=0, validation_alias=AliasChoices("GATEWAY_IDLE_TIMEOUT_S")
    )
    max_session_s: int = Field(
        3600, ge=60, le=10_800, validation_alias=AliasChoices("GATEWAY_MAX_SESSION_S")
    )
    # A dropped session can be resumed (on any gateway) for this long; then its call ends.
    resume_window_s: float = Field(
        30.0, gt=0, le=600, validation_alias=AliasChoices("GATEWAY_RESUME_WINDOW_S")
    )
    # On SIGTERM live calls may go on this long (new ones are refused); then API sessions are
    # handed over to resume elsewhere and phone calls end (docs/reliability.md, "Drain").
    drain_timeout_s: float = Field(
        30.0, ge=0, le=600, validation_alias=AliasChoices("GATEWAY_DRAIN_TIMEOUT_S")
    )
    # The gateway says it is alive in Redis this often; its heartbeat lasts three periods. A
    # gateway that stops (SIGKILL, a crash) leaves its calls "live": once its heartbeat lapses,
    # their callers can resume them on another gateway.
    heartbeat_s: float = Field(
        1.0, gt=0, le=60, validation_alias=AliasChoices("GATEWAY_HEARTBEAT_S")
    )
    # Every this often the gateway sweeps for calls of gateways that died (their heartbeat
    # lapsed): it marks them dropped (resumable for a window), then ends those nobody resumed
    # (call.ended{reason:"gateway_lost"}).
    sweep_s: float = Field(2.0, gt=0, le=60, validation_alias=AliasChoices("GATEWAY_SWEEP_S"))
    # Server messages waiting for a slow client; a client this far behind is closed.
    send_queue_size: int = Field(256, ge=8)
    # A frame (or the close) the client has not taken within this long: it is too slow, and its
    # connection is dropped (docs/reliability.md, "A client that stops reading").
    send_timeout_s: float = Field(
        5.0, gt=0, le=60, validation_alias=AliasChoices("GATEWAY_SEND_TIMEOUT_S")
    )
    # Largest text frame accepted (bytes); uvicorn closes on anything above its own 1 MiB cap.
    max_frame_bytes: int = Field(262_144, ge=1024)

    # "embedded": hear and speak with the bundled models; "off": text replies only (chat);
    # "echo": benchmarks only, caller audio comes straight back (no models). "noop": benchmarks
    # only, the whole voice pipeline with no-op models (adapters/noop_models.py; the soak).
    voice: Literal["embedded", "off", "echo", "noop"] = Field(
        "embedded", validation_alias=AliasChoices("GATEWAY_VOICE")
    )
    # Final transcripts: Whisper base (accurate) or tiny.en (faster); live deltas use tiny.en.
    stt_model: Literal["base", "tiny.en"] = Field(
        "base", validation_alias=AliasChoices("GATEWAY_STT_MODEL")
    )
    tts: Literal["piper", "espeak"] = Field("piper", validation_alias=AliasChoices("GATEWAY_TTS"))
    inference_workers: int = Field(
        2, ge=1, le=64, validation_alias=AliasChoices("GATEWAY_INFERENCE_WORKERS")
    )

    # The dialogue model: any OpenAI-compatible chat-completions server (the embedded model
    # server of `make up`, Ollama, vLLM, OpenAI). Unset: the lines' deterministic flows answer.
    llm_base_url: str | None = Field(None, validation_alias=AliasChoices("LLM_BASE_URL"))
    llm_model: str = Field("default", validation_alias=AliasChoices("LLM_MODEL"))
    llm_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("LLM_API_KEY"))

    # Phone calls (docs/telephony.md). Unset token: /twilio/voice refuses every request (403).
    twilio_auth_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TWILIO_AUTH_TOKEN")
    )
    # Twilio's REST API (call transfer); tests point it at a local fake.
    twilio_api_url: str = Field(
        "https://api.twilio.com", max_length=500, validation_alias=AliasChoices("TWILIO_API_URL")
    )
    twilio_transfer_timeout_s: float = Field(
        5.0, gt=0, le=30, validation_alias=AliasChoices("TWILIO_TRANSFER_TIMEOUT_S")
    )

    http: HttpSettings = Field(default_factory=HttpSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def public_http_url(self) -> str:
        """The public URL over HTTP(S): what Twilio signs its webhook requests against."""
        return re.sub(r"^ws", "http", self.public_url)

    @model_validator(mode="after")
    def _default_public_url(self) -> GatewaySettings:
        if not self.public_url:
            self.public_url = f"ws://127.0.0.1:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self
