"""The process-wide objects the lifespan builds once and every request shares."""

from __future__ import annotations

from dataclasses import dataclass

from ballsy.assistant.preferences import PreferencesService
from ballsy.assistant.service import Assistant
from ballsy.config import Settings
from ballsy.llm.registry import LLMRegistry
from ballsy.store.db import Database


@dataclass(slots=True)
class Services:
    settings: Settings
    database: Database
    llms: LLMRegistry
    assistant: Assistant
    preferences: PreferencesService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings)
        llms = LLMRegistry(settings)
        return cls(
            settings=settings,
            database=database,
            llms=llms,
            assistant=Assistant(settings, database, llms),
            preferences=PreferencesService(settings, database, llms.names),
        )

    async def start(self) -> None:
        await self.database.migrate()

    async def close(self) -> None:
        await self.llms.close()
        await self.database.dispose()
