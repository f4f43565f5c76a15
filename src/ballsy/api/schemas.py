"""Request and response bodies of the REST API (separate in and out shapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ballsy.names import ClientId


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # MAX_COMMAND_LENGTH (at most this) is checked by the turn itself.
    text: str = Field(max_length=100_000, description="What the user said or typed.")
    client_id: ClientId = Field(
        default="local",
        description="Who is talking; one user per client id until authentication is on.",
    )


class HandledBy(BaseModel):
    kind: Literal["skill", "llm", "notice"]
    name: str
    model: str | None = None


class CommandOut(BaseModel):
    id: int
    text: str
    reply: str
    handled_by: HandledBy
    data: dict[str, Any]
    timings: dict[str, float]
    conversation_id: str | None
    created_at: datetime


class HistoryItem(BaseModel):
    id: int
    text: str
    reply: str
    source: str
    handled_by: HandledBy
    interrupted: bool
    timings: dict[str, Any]
    created_at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_before: int | None = Field(
        description="Pass as ?before= for the next (older) page; null on the last page."
    )


class SettingsOut(BaseModel):
    voice: str | None
    speed: float
    language: str
    system_prompt: str
    llm_provider: str
    llm_model: str | None
    memory_turns: int


class SettingsUpdate(BaseModel):
    """A partial update: only the fields present change; null resets to the default."""

    model_config = ConfigDict(extra="forbid")

    voice: str | None = Field(default=None, max_length=64)
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    language: str | None = Field(
        default=None, max_length=12, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"
    )
    system_prompt: str | None = Field(default=None, min_length=1, max_length=4000)
    llm_provider: str | None = Field(default=None, max_length=32)
    llm_model: str | None = Field(default=None, max_length=128, pattern=r"^[\w./:@-]+$")
    memory_turns: int | None = Field(default=None, ge=0, le=50)


class VoiceAudio(BaseModel):
    format: Literal["wav"]
    base64: str | None = None
    url: str | None = None


class VoiceOut(CommandOut):
    transcript_language: str
    audio: VoiceAudio | None
