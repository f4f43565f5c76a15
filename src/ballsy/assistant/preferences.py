"""Per-user preferences: the stored settings row merged over the server defaults.

:class:`Preferences` is also what ``GET|PUT /api/settings`` answers with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ballsy.config import Settings
from ballsy.errors import InvalidInput
from ballsy.store.db import Database
from ballsy.store.models import UserSettings
from ballsy.store.repositories import SettingsRepository, UserRepository


class Preferences(BaseModel):
    """What applies to one user: their voice, speed, language, persona and LLM."""

    model_config = ConfigDict(frozen=True)

    voice: str | None
    speed: float
    language: str
    system_prompt: str
    llm_provider: str
    llm_model: str | None
    memory_turns: int


def resolve_preferences(settings: Settings, row: UserSettings | None) -> Preferences:
    """What applies to this user now: their choices where made, the server's elsewhere."""
    return Preferences(
        voice=(row.voice if row and row.voice else settings.tts_voice),
        speed=row.speed if row else 1.0,
        language=row.language if row else "en",
        system_prompt=(
            row.system_prompt if row and row.system_prompt else settings.default_system_prompt
        ),
        llm_provider=(row.llm_provider if row and row.llm_provider else settings.llm_provider),
        llm_model=row.llm_model if row else None,
        memory_turns=(
            row.memory_turns if row and row.memory_turns is not None else settings.memory_turns
        ),
    )


class PreferencesService:
    """Reads and changes a user's settings, enforcing what values are valid here."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        llm_providers: list[str],
        voices: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.llm_providers = llm_providers
        self.voices = voices  # what the TTS engines can speak; None accepts any voice

    async def get(self, client_id: str) -> Preferences:
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_or_create(client_id)
            row = await SettingsRepository(session).get(user.id)
        return resolve_preferences(self.settings, row)

    async def update(self, client_id: str, changes: dict[str, Any]) -> Preferences:
        provider = changes.get("llm_provider")
        if provider is not None and provider not in self.llm_providers:
            raise InvalidInput(
                f"unknown llm_provider '{provider}'; available: {', '.join(self.llm_providers)}",
                detail={"field": "llm_provider"},
            )
        voice = changes.get("voice")
        if voice is not None and self.voices is not None and voice not in self.voices:
            raise InvalidInput(
                f"unknown voice '{voice}'; available: {', '.join(self.voices)}",
                detail={"field": "voice"},
            )
        if changes.get("speed", 0) is None:
            changes["speed"] = 1.0
        if changes.get("language", "") is None:
            changes["language"] = "en"
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_or_create(client_id)
            row = await SettingsRepository(session).update(user.id, changes)
        return resolve_preferences(self.settings, row)
