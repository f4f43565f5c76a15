"""Request bodies of the assistant's REST routes.

What the routes answer with are the services' own read schemas
(:mod:`ballsy.assistant.schemas`, :class:`ballsy.assistant.preferences.Preferences`).
"""

from __future__ import annotations

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
