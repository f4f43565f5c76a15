"""The one settings object.

Every environment variable the server reads is a field here (docs/configuration.md is
the table of them; the capacity planner's ``PLAN_*`` prices are its own
:class:`ballsy.capacity.plan.PlanPrices`). Nothing else in the package reads
``os.environ``: the app, the CLI and the tests build a :class:`Settings` and hand it down.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ballsy.names import ClientId

# Which routes `ballsy serve` exposes (docs/deploy.md: one image, several roles).
ServerRole = Literal["all", "api", "realtime", "wyoming"]
AuthMode = Literal["none", "apikey", "jwt"]
# The development JWT secret; production refuses to start with it (or any short one).
DEFAULT_JWT_SECRET = "ballsy-development-secret-change-me"  # noqa: S105
MIN_SECRET_LENGTH = 32
# A Google Secret Manager reference, resolved at startup by ballsy.security.secrets.
SECRET_REFERENCE = re.compile(r"^projects/[^/\s]+/secrets/[^/\s]+(/versions/[^/\s]+)?$")


def _default_data_dir() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "ballsy"


_CHILD_PROCESS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "LD_LIBRARY_PATH")


def child_process_environment() -> dict[str, str]:
    """The caller's variables a child ``ballsy`` process needs to find its interpreter,
    libraries and temp dir, and nothing else (no DATABASE_URL, no LLM keys): the base
    environment of the server ``ballsy bench capacity`` starts."""
    return {key: os.environ[key] for key in _CHILD_PROCESS_ENV if key in os.environ}


LOOPBACK_HOSTS = ("localhost", "*.localhost", "127.0.0.1", "::1")
"""Host header names a loopback-only development server answers to."""


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (IPv4 or IPv6)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


MCP_SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$")
"""An MCP server's name: the prefix of its tools' names (``home__HassTurnOff``), so it
keeps to the characters an OpenAI function name allows and leaves room for the tool's."""


class McpServerSettings(BaseModel):
    """One entry of ``MCP_SERVERS``: a server started as a child process (``command``)
    or reached over streamable HTTP (``url``). docs/mcp.md."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Unique; its tools are offered as <name>__<tool>.")
    command: list[str] | None = Field(
        default=None, min_length=1, description="stdio: the argv of the server process."
    )
    env: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="stdio: extra environment of the process (values may be secret references).",
    )
    url: str | None = Field(default=None, description="streamable HTTP: the endpoint URL.")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="streamable HTTP: request headers (values may be secret references, "
        "alone or after a scheme: `Bearer projects/p/secrets/ha-token`).",
    )
    tools: list[str] | None = Field(
        default=None, description="Only these of the server's tools are offered; unset: all."
    )

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        where = f"MCP server {self.name!r}"
        if not MCP_SERVER_NAME.match(self.name):
            raise ValueError(
                f"{where}: a name is 1-24 letters, digits, '_' or '-', starting with a "
                "letter or digit"
            )
        if (self.command is None) == (self.url is None):
            raise ValueError(f"{where}: needs exactly one of command (stdio) or url (HTTP)")
        if self.url is not None:
            if not re.match(r"^https?://[^/\s]+", self.url):
                raise ValueError(f"{where}: url must be an http:// or https:// URL")
            if self.env:
                raise ValueError(f"{where}: env is for command servers; use headers")
        elif self.headers:
            raise ValueError(f"{where}: headers are for url servers; use env")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"


def _json_list(value: object, setting: str) -> object:
    if not isinstance(value, str):
        return value
    if not value.strip():
        return []
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{setting} is not valid JSON: {exc}") from None


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
    environment: Literal["development", "production"] = Field(
        default="development",
        description="development (auth may be off, console logs) or production "
        "(refuses unsafe settings).",
    )
    host: str | None = Field(
        default=None,
        description="Bind address of `ballsy serve`; unset: 127.0.0.1 with AUTH_MODE=none, "
        "else 0.0.0.0. With AUTH_MODE=none a non-loopback address is refused unless "
        "ALLOW_UNAUTHENTICATED_REMOTE=true.",
    )
    allow_unauthenticated_remote: bool = Field(
        default=False,
        description="With AUTH_MODE=none, allow a non-loopback HOST and any Host header: "
        "everyone who can reach the port is the admin. Development on a trusted network only.",
    )
    port: int = Field(
        default=8080, ge=1, le=65535, description="HTTP port of `ballsy serve` (Cloud Run sets it)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Lowest log level written."
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=AliasChoices("BALLSY_DATA_DIR", "data_dir"),
        description="Where the SQLite file, media and model caches live.",
    )
    server_role: ServerRole = Field(
        default="all",
        description="Routes `ballsy serve` exposes: api (REST /api/* and /v1/* HTTP), "
        "realtime (the WebSockets /ws/* and /v1/realtime), wyoming (only the Wyoming "
        "server, docs/home-assistant.md) or all. Every role answers "
        "/health, /ready and /metrics (see INTERNAL_PORT). Split roles need REDIS_URL "
        "(tickets, sessions).",
    )

    # --- storage -----------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means a SQLite file in the data dir. "
        "postgresql:// URLs use asyncpg.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, le=200, description="PostgreSQL connections kept open per process."
    )
    database_max_overflow: int = Field(
        default=10, ge=0, le=200, description="Extra PostgreSQL connections allowed under load."
    )
    redis_url: str | None = Field(
        default=None,
        description="redis:// URL for sessions, rate limits and the response cache shared "
        "by all instances; unset means in-process state (a single instance).",
    )
    redis_key_prefix: str = Field(
        default="", max_length=64, description="Prepended to every Redis key Ballsy writes."
    )
    redis_timeout: float = Field(
        default=0.5,
        gt=0,
        le=30,
        description="Seconds a Redis connect or command may take before this instance "
        "falls back to in-process state (degraded).",
    )
    redis_max_connections: int = Field(
        default=64,
        ge=2,
        le=10_000,
        description="Redis connections per instance; more concurrent calls wait their turn.",
    )
    redis_retry_interval: float = Field(
        default=1.0,
        gt=0,
        le=300,
        description="Seconds between Redis probes while degraded; the first success "
        "switches back to Redis.",
    )

    # --- HTTP --------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma list; `*` is refused "
        "in production).",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host headers accepted (comma list); `*` accepts any. Unset: loopback "
        "names only with AUTH_MODE=none (against DNS rebinding), else any.",
    )
    max_requests_per_minute: int = Field(
        default=30, ge=1, description="REST requests per user per minute (429 beyond)."
    )
    max_concurrent_sessions: int = Field(
        default=1000, ge=1, description="Voice sessions open at once across all instances."
    )
    max_sessions_per_user: int = Field(
        default=8,
        ge=1,
        description="Voice sockets one user may hold open at once across all instances "
        "(so one user cannot take every MAX_CONCURRENT_SESSIONS slot).",
    )
    conversation_idle_timeout: int = Field(
        default=3600,
        ge=1,
        description="Seconds of quiet after which the next turn starts a new conversation "
        "(the assistant's short-term memory starts afresh).",
    )
    session_slot_ttl: int = Field(
        default=3600,
        ge=1,
        description="Seconds a voice session's record (`/api/sessions`, `session:{id}`) "
        "lives after its last touch, so a client can resume it on another instance.",
    )
    session_data_max_bytes: int = Field(
        default=4096,
        ge=2,
        le=1_048_576,
        description="Largest `data` of a voice session (`/api/sessions`), in bytes of "
        "JSON after a heartbeat's merge (413 `payload_too_large` beyond).",
    )
    session_data_max_keys: int = Field(
        default=32,
        ge=0,
        le=10_000,
        description="Most top-level keys in a voice session's `data` after a heartbeat's "
        "merge (413 `payload_too_large` beyond).",
    )
    sse_streams_per_user: int = Field(
        default=4,
        ge=1,
        le=1000,
        description="Server-sent event streams (`/api/events`, job `/events`) one user may "
        "hold open at once on one instance (429 `rate_limited` beyond).",
    )
    ws_unauthenticated_per_address: int = Field(
        default=8,
        ge=1,
        description="WebSockets one client address may hold open while they wait for their "
        "first (auth) message; more are closed at once with 1013.",
    )
    ws_unauthenticated_max: int = Field(
        default=256,
        ge=1,
        description="WebSockets waiting for their first (auth) message on one instance; "
        "more are closed at once with 1013.",
    )
    session_timeout: int | None = Field(
        default=None,
        ge=1,
        description="The older name of both: sets CONVERSATION_IDLE_TIMEOUT and "
        "SESSION_SLOT_TTL where they are not given.",
    )
    max_command_length: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Longest typed or transcribed command, in characters.",
    )
    history_max_page_size: int = Field(
        default=100, ge=1, le=1000, description="Largest page `GET /api/history` returns."
    )
    rate_limit_strategy: Literal["moving-window", "fixed-window"] = Field(
        default="moving-window",
        description="limits strategy for MAX_REQUESTS_PER_MINUTE: moving-window is exact "
        "over any 60 s span; fixed-window is cheaper and allows bursts at window edges.",
    )
    ws_messages_per_minute: int = Field(
        default=6000,
        ge=1,
        description="Per voice session: WebSocket messages (audio frames "
        "included) before the session is told to slow down.",
    )
    ws_turns_per_minute: int = Field(
        default=30,
        ge=1,
        description="Per user, over all their voice sockets: turns started per minute "
        "(a spoken turn counts when its transcription starts).",
    )
    session_heartbeat_ttl: int = Field(
        default=90,
        ge=5,
        description="Seconds a voice session holds a MAX_CONCURRENT_SESSIONS slot without "
        "a heartbeat (so a crashed instance's sessions free their slots).",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Body cap of non-upload routes (uploads use MAX_UPLOAD_BYTES); checked "
        "on Content-Length before reading and on the bytes actually streamed.",
    )
    request_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds of the server's own work a request may take before its "
        "response starts (504 after); time spent waiting on the client's body does not "
        "count, and a response that has started streaming is not cut.",
    )
    upload_read_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds each read of a request body may wait for the client's next "
        "bytes (408 after): an upload that keeps sending is never cut, a stalled one is.",
    )
    ai_cache_ttl: int = Field(
        default=0,
        ge=0,
        description="Seconds an LLM reply to a prompt with no personal context (no memory, "
        "default persona) is reused from ai:response:{hash}; 0 disables the cache.",
    )

    # --- security ----------------------------------------------------------------
    auth_mode: AuthMode = Field(
        default="none",
        description="none: the client names itself (development only); apikey: API keys; "
        "jwt: API keys plus password login issuing JWT access and refresh tokens.",
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEFAULT_JWT_SECRET),
        description="HS256 key for JWTs; at least 32 characters in production.",
    )
    jwt_access_ttl: int = Field(default=900, ge=30, le=86400, description="Seconds.")
    jwt_refresh_ttl: int = Field(default=14 * 86400, ge=300, description="Seconds.")
    api_key_fresh_login_s: int = Field(
        default=300,
        ge=30,
        le=3600,
        description="A non-admin may create an API key only with an access token whose "
        "password login was at most this many seconds ago (API keys cannot create keys).",
    )
    api_key_max_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="Longest life of a self-service API key (POST /api/auth/keys), in days; "
        "such a key always expires, and never after the admin key that created it.",
    )
    api_keys_per_user: int = Field(
        default=20, ge=1, le=1000, description="Most live API keys one user may hold."
    )
    ws_principal_recheck_s: float = Field(
        default=60.0,
        ge=0.5,
        le=60.0,
        description="An open voice socket re-reads its user this often (seconds): disabled, "
        "demoted or revoked closes it with 1008.",
    )
    ws_ticket_ttl: int = Field(
        default=30, ge=5, le=600, description="Seconds a browser WebSocket ticket is valid."
    )
    max_login_attempts_per_minute: int = Field(
        default=10,
        ge=1,
        description="Password attempts per client address, and per account from addresses "
        "that have not signed in to it before (the owner's known addresses are not "
        "limited by strangers' failures).",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        # FORWARDED_ALLOW_IPS: uvicorn's name, which the deploy manifests already set.
        validation_alias=AliasChoices("TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS", "trusted_proxies"),
        description="Addresses and CIDRs of the proxies whose X-Forwarded-For names the "
        "client (comma list; `*` trusts any peer and takes the leftmost entry, which the "
        "client can write). Unset: the peer is the client, X-Forwarded-For is ignored.",
    )
    daily_token_limit: int = Field(
        default=0,
        ge=0,
        description="Tokens (prompt + completion) per user per UTC day on paid, non-local "
        "LLM providers; 0 means no cap.",
    )

    # --- assistant ---------------------------------------------------------------
    default_system_prompt: str = Field(
        default=(
            "You are Ballsy, a friendly voice assistant. Answer briefly, in one to three "
            "short sentences that sound natural when spoken aloud."
        ),
        description="The assistant's persona when a user has not set one. Every prompt "
        "also asks for plain spoken sentences (no markdown, lists, code, symbols or links), "
        "whatever the persona.",
    )
    memory_turns: int = Field(
        default=6,
        ge=0,
        le=100,
        description="Past turns sent to the LLM. The window moves in steps of half its "
        "size (between half and all of them are sent) so a local model's prompt cache "
        "keeps the conversation's start.",
    )
    timezone: str = Field(default="UTC", description="IANA zone used by the time skill.")
    notice_poll_interval: float = Field(
        default=1.0,
        ge=0.05,
        le=60.0,
        description="Seconds between checks for due timers and reminders (and how late a "
        "notice may be spoken at most, plus the delivery itself).",
    )

    # --- MCP servers (docs/mcp.md) ------------------------------------------------
    mcp_servers: Annotated[list[McpServerSettings], NoDecode] = Field(
        default_factory=list,
        description="MCP servers whose tools the LLM may call: a JSON list of "
        '`{"name", "command": [argv], "env"}` (a child process over stdio) or '
        '`{"name", "url", "headers"}` (streamable HTTP), each optionally with `"tools"`, '
        "an allow-list. Header and env values may be Secret Manager references (docs/mcp.md).",
    )
    mcp_call_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds one MCP tool call may take; then the model hears it failed.",
    )
    mcp_connect_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Seconds to connect to an MCP server and list its tools; a server "
        "that takes longer is retried with backoff (start-up never waits for it).",
    )
    mcp_ping_interval: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Seconds between pings of a connected MCP server; one that fails to "
        "answer within MCP_CALL_TIMEOUT is reconnected, its tools withdrawn meanwhile.",
    )

    # --- LLM ---------------------------------------------------------------------
    # Provider names are plain strings here, checked at start-up against the providers
    # that registered (ballsy.provider_names), so a new provider needs no edit here.
    llm_provider: str = Field(
        default="local",
        description="Default LLM: local (llama.cpp in this process) or a remote provider.",
    )
    llm_model: str | None = Field(
        default=None, description="Model name for remote providers; local uses the GGUF file."
    )
    llm_base_url: str | None = Field(
        default=None,
        description="Endpoint of the remote provider (e.g. an Ollama or vLLM URL; Azure endpoint).",
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key of the remote provider."
    )
    mistral_api_key: SecretStr | None = Field(
        default=None, description="Mistral API key (LLM_PROVIDER=mistral)."
    )
    gemini_api_key: SecretStr | None = Field(
        default=None, description="Gemini API key (LLM_PROVIDER=gemini)."
    )
    azure_openai_api_version: str = Field(
        default="2024-10-21", description="API version for LLM_PROVIDER=azure."
    )
    llm_timeout: float = Field(default=30.0, gt=0, description="Seconds per provider call.")
    llm_max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries on 408/409/429/5xx from a remote provider, with exponential backoff.",
    )
    llm_fallback_to_local: bool = Field(
        default=False,
        description="Answer with the local model when the remote provider fails before its "
        "first token.",
    )
    llm_tools: bool = Field(
        default=True,
        description="Offer tools to the remote provider's model (turn off for a model "
        "that cannot call them).",
    )
    llm_max_tokens: int = Field(default=200, ge=1, le=8192, description="Longest reply, in tokens.")
    llm_temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Sampling temperature of replies."
    )
    local_llm_model: str = Field(
        default="smart",
        description="The embedded model the local provider answers with (a user's llm_model "
        "of fast or smart picks the other). smart is the default: on benchmarks/local_llm.py "
        "it answers more everyday questions right, in shorter sentences, for about 0.2 s "
        "more to the first token (docs/architecture.md, The embedded LLMs).",
    )
    local_llm_model_path: Path | None = Field(
        default=None,
        description="A GGUF file to answer with instead of LOCAL_LLM_MODEL (its chat "
        "template is used).",
    )
    local_llm_context: int = Field(
        default=2048, ge=256, le=131072, description="Context window of the local model, in tokens."
    )
    local_llm_prompt_cache_mb: int = Field(
        default=256,
        ge=0,
        description="Memory for the local LLM's prompt cache (llama.cpp states keyed by "
        "prompt prefix): each conversation's persona and memory are evaluated once, and "
        "a new turn only its new tokens. 0 turns it off.",
    )
    local_llm_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="CPU threads for the local model. One is right for the small embedded "
        "models: more threads gain little and stall badly when speech models share the CPU.",
    )
    local_llm_parallel: int = Field(
        default=8,
        ge=1,
        le=64,
        description="Replies the local model works on at once, a token at a time each, "
        "every reply's first clause first and users in turn (docs/architecture.md). Each "
        "costs one llama.cpp context (~30 MB idle, ~130 MB busy), made only when needed; "
        "too few, and a new turn waits for another reply to end.",
    )

    local_llm_tools: bool = Field(
        default=False,
        description="Offer tools (Ballsy's skills, MCP servers) to the local model. Off by "
        "default: SmolLM2 cannot call tools and answers in text instead.",
    )

    # --- tools (docs/api.md#tools) ---------------------------------------------------
    tools_allowed: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Tools the assistant's LLM may call (comma list): a tool's name, "
        "`source.tool`, `source.*` (`ballsy.*`: Ballsy's own skills; an MCP server's name) "
        "or `*` for every tool. Empty: no tools.",
    )
    tools_max_steps: int = Field(
        default=4,
        ge=1,
        le=16,
        description="Rounds of tool calls in one turn; past them the model must answer.",
    )
    tools_call_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300.0,
        description="Seconds one tool call may take; a slower one is told to the model as failed.",
    )

    # --- speech ------------------------------------------------------------------
    stt_model: str = Field(default="tiny.en", description="Speech-to-text model.")
    stt_compute_type: str = Field(
        default="int8", description="CTranslate2 compute type for Whisper on CPU."
    )
    stt_threads: int = Field(default=0, ge=0, description="0 lets CTranslate2 choose.")
    tts_engine: str = Field(default="hibari", description="Text-to-speech engine.")
    tts_voice: str | None = Field(
        default=None,
        description="Default voice of the engine; unset uses the engine's own default.",
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024,
        ge=1024,
        description="Largest audio upload on synchronous endpoints (413 before the body is read).",
    )
    max_audio_seconds: float = Field(default=600.0, gt=0, description="Synchronous endpoints.")
    voice_audio_ttl: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds a `/api/voice?audio=url` reply is kept before it is deleted.",
    )
    max_tts_input_chars: int = Field(
        default=4096, ge=1, description="Longest text `/v1/audio/speech` accepts."
    )
    inference_workers: int = Field(
        default=2, ge=1, le=64, description="Threads running local speech models in this process."
    )
    inference_queue_size: int = Field(
        default=64, ge=1, description="Speech calls allowed to wait for a thread before 503 busy."
    )
    preload_models: bool = Field(
        default=True,
        description="Load the default STT, TTS, end-of-turn model and LLM in the background "
        "at start, "
        "so the first voice turn is warm (models still load lazily if this is off).",
    )
    model_idle_ttl: float = Field(
        default=0.0, ge=0, description="Seconds before an idle model is unloaded; 0 keeps it."
    )

    # --- transcription jobs (docs/jobs.md) -------------------------------------------
    media_folder: Path | None = Field(
        default=None, description="Local storage of job uploads; unset means <data dir>/media."
    )
    output_folder: Path | None = Field(
        default=None, description="Local storage of job transcripts; unset: <data dir>/outputs."
    )
    job_queue: str = Field(default="embedded", description="How job workers learn of jobs.")
    job_redis_url: str | None = Field(
        default=None, description="Redis of the job queue; unset means REDIS_URL."
    )
    job_queue_name: str = Field(
        default="ballsy-transcriptions",
        max_length=64,
        description="Name of the SAQ queue (after REDIS_KEY_PREFIX).",
    )
    job_worker_in_process: bool | None = Field(
        default=None,
        description="Run a job worker inside `ballsy serve`; unset means yes for the "
        "embedded queue and no for redis.",
    )
    job_concurrency: int = Field(
        default=2, ge=1, le=64, description="Jobs one worker process runs at once."
    )
    job_storage: str = Field(
        default="local",
        description="Where job media and transcripts live (gcs and s3 need their extras).",
    )
    job_storage_bucket: str | None = Field(default=None, description="Bucket for gcs and s3.")
    job_storage_prefix: str = Field(default="", description="Key prefix inside the bucket.")
    job_s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, R2…); unset means AWS."
    )
    job_s3_region: str | None = Field(default=None, description="Region of the S3 bucket.")
    job_signed_url_ttl: int = Field(
        default=3600, ge=60, le=7 * 86400, description="Seconds a signed download URL lives."
    )
    job_upload_url_ttl: int = Field(
        default=3600,
        ge=60,
        le=7 * 86400,
        description="Seconds a signed direct-upload URL (POST /api/transcriptions/uploads) lives.",
    )
    job_max_upload_bytes: int = Field(
        default=2 * 1024**3, ge=1024, description="Largest job upload (413 beyond it)."
    )
    job_max_audio_seconds: float = Field(
        default=12 * 3600.0, gt=0, description="Longest recording a job accepts."
    )
    job_min_free_mb: int = Field(
        default=256, ge=0, description="Refuse uploads (507) that would leave less free disk."
    )
    job_chunk_seconds: float = Field(
        default=240.0,
        ge=10,
        le=1800,
        description="Audio per chunk: the unit of progress, of resumption after a crash "
        "and of memory use (chunks are cut in silences found by VAD).",
    )
    job_decoder: Literal["batched", "sequential"] = Field(
        default="batched",
        description="batched: faster-whisper's BatchedInferencePipeline over the speech "
        "of a chunk (measured ~2x faster here); sequential: one clip at a time.",
    )
    job_batch_size: int = Field(default=8, ge=1, le=64, description="Clips per batched call.")
    job_cpu_threads: int = Field(
        default=0, ge=0, description="CTranslate2 threads of the job model; 0: its default."
    )
    job_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Scheduling niceness of job inference threads, so voice turns on the "
        "same machine get the CPU first (Linux).",
    )
    job_lease_seconds: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description="A running job's lease; a worker silent this long is presumed dead "
        "and another one resumes the job from its last finished chunk.",
    )
    job_max_attempts: int = Field(
        default=3,
        ge=1,
        le=50,
        description="Attempts (a dead worker's included) before a job fails for good.",
    )
    job_retry_base_seconds: float = Field(
        default=5.0, ge=0, description="First retry delay; doubles each attempt."
    )
    job_retry_max_seconds: float = Field(
        default=300.0, ge=0, description="Longest delay between two attempts of a job."
    )
    job_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often workers look for due, orphaned or re-queued jobs.",
    )
    job_retention_hours: float = Field(
        default=168.0, ge=0, description="Finished jobs and their files are deleted after; 0 keeps."
    )
    job_keep_media: bool = Field(
        default=False, description="Keep an uploaded recording after its job finished."
    )
    job_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of webhook signatures; webhooks need it."
    )
    job_webhook_attempts: int = Field(
        default=5, ge=1, le=20, description="Deliveries tried per webhook (1 s, 2 s, 4 s… apart)."
    )
    job_webhook_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Seconds one webhook delivery may take."
    )
    job_webhook_resolve_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds a webhook host's DNS lookup may take."
    )
    job_webhook_allow_private: bool | None = Field(
        default=None,
        description="Allow webhooks to loopback/private addresses; unset: only in development.",
    )

    # --- observability and operations (docs/observability.md) -----------------------
    log_format: Literal["json", "console"] | None = Field(
        default=None,
        description="json: one Cloud Logging object per line; console: readable lines. "
        "Unset means console in development and json in production.",
    )
    log_requests: bool = Field(
        default=True, description="Log one ballsy.http.request_completed line per request."
    )
    metrics_enabled: bool = Field(
        default=True, description="Serve GET /metrics and record Prometheus metrics."
    )
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"),
        description="Set when several worker processes serve one port: each writes its "
        "metrics there and /metrics aggregates them. Must exist and be emptied at deploy.",
    )
    internal_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Set: `ballsy serve` also listens on this port (on INTERNAL_HOST) for "
        "/metrics, /docs, /openapi.json and /ready with its errors, and the public port "
        "no longer serves /metrics, /docs or /openapi.json (docs/security.md).",
    )
    internal_host: str = Field(
        default="127.0.0.1",
        description="Bind address of INTERNAL_PORT; keep it unreachable from the internet.",
    )
    internal_token: SecretStr | None = Field(
        default=None,
        description="Set: /metrics, /docs, /openapi.json and /ready's errors on the public "
        "port need `Authorization: Bearer <this>`. In production with neither this nor "
        "INTERNAL_PORT they are not served publicly.",
    )
    otel_enabled: bool = Field(
        default=False,
        description="Export OpenTelemetry traces over OTLP/HTTP; needs the [tracing] extra. "
        "The exporter reads the standard OTEL_EXPORTER_OTLP_* variables.",
    )
    otel_service_name: str = Field(default="ballsy", description="service.name of the spans.")
    otel_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces sampled (parent-based)."
    )
    gcp_project: str | None = Field(
        default=None,
        validation_alias=AliasChoices("GOOGLE_CLOUD_PROJECT", "GCP_PROJECT", "gcp_project"),
        description="Makes the log trace field a full projects/<id>/traces/<trace> name.",
    )
    shutdown_grace_seconds: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="On SIGTERM/SIGINT, how long in-flight requests may run before they "
        "are cancelled. Keep it below the platform's kill timer (Kubernetes 30 s, "
        "Cloud Run 10 s).",
    )
    ready_min_free_disk_mb: int = Field(
        default=256, ge=0, description="/ready fails when the data dir has less free space."
    )

    @property
    def webhooks_may_reach_private(self) -> bool:
        """``JOB_WEBHOOK_ALLOW_PRIVATE``, or by default: only outside production."""
        if self.job_webhook_allow_private is not None:
            return self.job_webhook_allow_private
        return self.environment != "production"

    @property
    def resolved_log_format(self) -> Literal["json", "console"]:
        """``log_format``, or its default for the environment."""
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "console"

    # --- realtime voice ----------------------------------------------------------
    realtime_vad_threshold: float = Field(
        default=0.5, gt=0.0, lt=1.0, description="Silero probability that counts as speech."
    )
    realtime_silence_ms: int = Field(
        default=400, ge=100, le=5000, description="Silence that ends the user's turn."
    )
    realtime_prefix_padding_ms: int = Field(
        default=300, ge=0, le=2000, description="Audio kept before detected speech."
    )
    realtime_min_speech_ms: int = Field(
        default=200, ge=0, le=2000, description="Shortest sound that counts as speech."
    )
    realtime_turn_detection: Literal["semantic", "fixed"] = Field(
        default="semantic",
        description="How /ws/voice (and the web client) decides the user finished: "
        "semantic (at a pause the end-of-turn model and the transcript decide; a "
        "hesitation is waited out) or fixed (REALTIME_SILENCE_MS of silence). "
        "/v1/realtime follows the client's turn_detection type.",
    )
    realtime_candidate_pause_ms: int = Field(
        default=200,
        ge=60,
        le=2000,
        description="A pause this long starts the speculative transcript and reply, and "
        "in semantic mode the end-of-turn decision.",
    )
    realtime_unsure_pause_ms: int = Field(
        default=900,
        ge=100,
        le=10_000,
        description="Semantic mode: the pause that ends a turn the decision is unsure of "
        "(long enough for a hesitation mid-sentence).",
    )
    realtime_max_pause_ms: int = Field(
        default=4000,
        ge=200,
        le=30_000,
        description="Semantic mode: the longest pause before a turn ends anyway (an "
        "utterance that trails off with 'and', 'to', 'um' …).",
    )
    realtime_speculative_replies: bool = Field(
        default=True,
        description="Answer the speculative transcript during the pause (skills, LLM, "
        "first sentence's speech), sending and storing nothing until the turn is "
        "confirmed; dropped if the user speaks on.",
    )
    realtime_stt_beam_size: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Beam width of the transcription of a voice turn up to "
        "REALTIME_STT_BEAM_MAX_SECONDS long (longer ones decode greedily); 1 is greedy. "
        "Measured on other voices' questions (benchmarks/stt_short.py): beam 3 had the "
        "lowest word error rate, 5 no better, at about the same decode time.",
    )
    realtime_stt_beam_max_seconds: float = Field(
        default=15.0,
        ge=0,
        le=600,
        description="Voice turns up to this long are decoded with REALTIME_STT_BEAM_SIZE.",
    )
    realtime_stt_prompt: str = Field(
        default="",
        max_length=800,
        description="Text Whisper is told came before each voice turn (its "
        "initial_prompt), e.g. the assistant's own phrasings; empty: none. Off by default: "
        "measured, a vocabulary prompt helps commands reach their skill but makes open "
        "questions worse (docs/realtime.md).",
    )
    realtime_stt_fallback_temperatures: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.2, 0.4, 0.6, 0.8, 1.0],
        description="Temperatures a voice turn's transcription is retried at, in order, "
        "when a decode fails Whisper's compression-ratio or log-probability check "
        "(comma list); empty keeps the first decode.",
    )
    realtime_ping_interval: float = Field(
        default=30.0, gt=0, description="Seconds between server pings on voice sockets."
    )
    realtime_idle_timeout: float = Field(
        default=300.0, gt=0, description="Close a voice socket silent this many seconds."
    )
    realtime_max_session_seconds: float = Field(
        default=3600.0, gt=0, description="Longest a voice session may last."
    )
    realtime_max_frame_bytes: int = Field(
        default=128 * 1024,
        ge=1024,
        description="Largest WebSocket message accepted (close 1009 beyond): about one "
        "second of 48 kHz PCM16 as base64 JSON.",
    )
    realtime_send_queue: int = Field(
        default=512, ge=8, description="Messages queued for a slow client before closing it."
    )
    realtime_playout_lead: float = Field(
        default=0.25, ge=0.0, le=5.0, description="Seconds of reply audio sent ahead of playback."
    )
    realtime_partial_transcripts: bool = Field(
        default=False,
        description="Send partial transcripts (about one a second) while the user speaks "
        "on /ws/voice. Off by default: a partial holds the session's one transcription "
        "slot, so one running when the user pauses delays the speculative transcript — "
        "and the end of the turn — by up to a transcription.",
    )

    # --- Wyoming (Home Assistant) ---------------------------------------------------
    # docs/home-assistant.md. Wyoming has no authentication: it binds to loopback unless
    # told otherwise, and production needs an allow-list for any other address.
    wyoming_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="TCP port of the Wyoming server (Home Assistant's speech protocol) "
        "that `ballsy serve` starts; 0 means off. `ballsy wyoming` uses 10300 when 0.",
    )
    wyoming_host: str = Field(
        default="127.0.0.1",
        description="Bind address of the Wyoming server; anything but loopback needs "
        "WYOMING_ALLOW_REMOTE.",
    )
    wyoming_allow_remote: bool = Field(
        default=False,
        description="Allow WYOMING_HOST to be a non-loopback address (Wyoming has no "
        "authentication: anyone who reaches the port can use it).",
    )
    wyoming_allowed_clients: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The only client addresses or networks the Wyoming server accepts "
        "(comma list: `192.168.1.20,10.0.0.0/24`; list 127.0.0.1 too for local clients); "
        "empty accepts any. Required in production when WYOMING_HOST is not loopback.",
    )
    wyoming_user: ClientId = Field(
        default="home-assistant",
        description="The Ballsy user whose memory, settings (voice, speed) and history "
        "Wyoming requests use.",
    )
    wyoming_streaming: bool = Field(
        default=True,
        description="Offer and send streaming events (transcript-chunk, synthesize-chunk "
        "audio per sentence, handled-chunk); off: only the classic single events.",
    )
    wyoming_max_connections: int = Field(
        default=32, ge=1, le=10_000, description="Wyoming connections open at once."
    )
    wyoming_max_streams: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Requests (transcription, synthesis, handle) in progress at once on one "
        "Wyoming connection.",
    )
    wyoming_max_text_chars: int = Field(
        default=4096,
        ge=1,
        le=100_000,
        description="Longest text one Wyoming synthesis (all chunks together) or handle "
        "request may carry.",
    )
    wyoming_max_audio_seconds: float = Field(
        default=120.0, gt=0, le=3600, description="Longest audio one Wyoming transcription takes."
    )
    wyoming_audio_ratio: float = Field(
        default=1.2,
        ge=1.0,
        le=100.0,
        description="Audio budget: seconds of audio a Wyoming client may send per second "
        "of wall time (after a 2 s head start); faster senders are slowed down by reading "
        "their socket later, never by dropping audio.",
    )
    wyoming_max_event_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest Wyoming event header plus its JSON data; beyond it the "
        "client gets an error event and the connection is closed.",
    )
    wyoming_max_payload_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest binary payload (one audio chunk) of a Wyoming event.",
    )
    wyoming_idle_timeout: float = Field(
        default=120.0, gt=0, description="Close a Wyoming connection silent this many seconds."
    )
    wyoming_zeroconf: bool = Field(
        default=False,
        description="Announce the Wyoming server on the local network (mDNS "
        "`_wyoming._tcp`) so Home Assistant discovers it.",
    )

    @field_validator(
        "cors_origins",
        "allowed_hosts",
        "trusted_proxies",
        "wyoming_allowed_clients",
        "tools_allowed",
        "realtime_stt_fallback_temperatures",
        mode="before",
    )
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("mcp_servers", mode="before")
    @classmethod
    def _mcp_json(cls, value: object) -> object:
        return _json_list(value, "MCP_SERVERS")

    @field_validator("mcp_servers")
    @classmethod
    def _mcp_unique(cls, value: list[McpServerSettings]) -> list[McpServerSettings]:
        names = [server.name for server in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"MCP_SERVERS: names must be unique, {', '.join(twice)} repeats")
        return value

    @field_validator("wyoming_allowed_clients")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"WYOMING_ALLOWED_CLIENTS: {item!r} is not an address") from None
        return value

    @model_validator(mode="after")
    def _session_timeout_alias(self) -> Settings:
        if self.session_timeout is not None:
            for name in ("conversation_idle_timeout", "session_slot_ttl"):
                if name not in self.model_fields_set:
                    setattr(self, name, self.session_timeout)
        return self

    @model_validator(mode="after")
    def _check_wyoming(self) -> Settings:
        problems = self.wyoming_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def wyoming_problems(self) -> list[str]:
        """Why the Wyoming server must not listen as configured (also checked at its start,
        after command-line overrides)."""
        if not self.wyoming_port and self.server_role != "wyoming":
            return []
        if is_loopback(self.wyoming_host):
            return []
        if not self.wyoming_allow_remote:
            return [
                f"WYOMING_HOST={self.wyoming_host} is not loopback; Wyoming has no "
                "authentication, so set WYOMING_ALLOW_REMOTE=true to mean it"
            ]
        if self.environment == "production" and not self.wyoming_allowed_clients:
            return ["WYOMING_ALLOWED_CLIENTS is required in production for a non-loopback bind"]
        return []

    @property
    def bind_host(self) -> str:
        """The address ``ballsy serve`` listens on (``HOST``, else by ``AUTH_MODE``)."""
        if self.host:
            return self.host
        return "127.0.0.1" if self.auth_mode == "none" else "0.0.0.0"

    def bind_problems(self) -> list[str]:
        """Why ``ballsy serve`` must not listen as configured (checked after --host)."""
        if self.auth_mode != "none" or self.allow_unauthenticated_remote:
            return []
        if is_loopback(self.bind_host):
            return []
        return [
            f"HOST={self.bind_host} is not loopback and AUTH_MODE=none: anyone who reaches "
            "it would be the admin; set AUTH_MODE=apikey, or "
            "ALLOW_UNAUTHENTICATED_REMOTE=true to mean it"
        ]

    @property
    def trusted_hosts(self) -> list[str]:
        """Host headers the app accepts: ``ALLOWED_HOSTS``, else loopback names while
        unauthenticated (a DNS-rebinding page sends its own name), else any."""
        if self.allowed_hosts:
            return self.allowed_hosts
        if self.auth_mode == "none" and not self.allow_unauthenticated_remote:
            return list(LOOPBACK_HOSTS)
        return ["*"]

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        problems = self.production_problems()
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve in production (empty in development).

        Secret Manager references are checked again once resolved at startup.
        """
        if self.environment != "production":
            return []
        problems = []
        if "*" in self.cors_origins:
            problems.append("CORS_ORIGINS='*' is refused in production")
        if self.auth_mode == "none":
            problems.append("AUTH_MODE=none is refused in production; use apikey or jwt")
        secret = self.jwt_secret.get_secret_value()
        if self.auth_mode == "jwt" and not SECRET_REFERENCE.match(secret):
            if secret == DEFAULT_JWT_SECRET:
                problems.append("JWT_SECRET is the development default")
            elif len(secret) < MIN_SECRET_LENGTH:
                problems.append(f"JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        return problems

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
    def reply_audio_dir(self) -> Path:
        """Reply speech of ``/api/voice?audio=url`` turns, one folder per user."""
        return self.media_dir / "replies"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def job_media_dir(self) -> Path:
        return self.media_folder or self.media_dir

    @property
    def job_output_dir(self) -> Path:
        return self.output_folder or self.data_dir / "outputs"

    @property
    def runs_job_worker(self) -> bool:
        """Whether ``ballsy serve`` runs a job worker in its own process."""
        if self.job_worker_in_process is not None:
            return self.job_worker_in_process
        return self.job_queue == "embedded"
