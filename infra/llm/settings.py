"""Settings of the embedded model server (``python -m infra.llm``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import HttpSettings, TelemetrySettings


class LlmSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    port: int = Field(8090, validation_alias=AliasChoices("LLM_PORT"))
    # Which embedded model: a key of infra.llm.model_files.MODELS.
    model: str = Field("qwen2.5-coder-1.5b", validation_alias=AliasChoices("LLM_MODEL"))
    threads: int = Field(2, ge=1, validation_alias=AliasChoices("LLM_THREADS"))
    # Tokens of prompt + answer. The demo line's system prompt and nine tools take about 1,500.
    context: int = Field(4096, ge=2048, validation_alias=AliasChoices("LLM_CONTEXT"))
    # Cap on any request's max_tokens: bounds how long one generation holds the model.
    max_tokens: int = Field(400, ge=16, validation_alias=AliasChoices("LLM_MAX_TOKENS"))
    # Chat requests admitted at once: one generates, the others wait their turn (FIFO). The next
    # one beyond the bound is answered 503 at once, so a caller can fall back instead of queueing.
    max_requests: int = Field(3, ge=1, validation_alias=AliasChoices("LLM_MAX_REQUESTS"))
    http: HttpSettings = Field(default_factory=HttpSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
