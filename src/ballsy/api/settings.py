"""``GET|PUT /api/settings``: the caller's voice, speed, language, persona and LLM."""

from __future__ import annotations

from fastapi import APIRouter

from ballsy.api.deps import CurrentUser, PreferencesDep
from ballsy.api.schemas import SettingsUpdate
from ballsy.assistant.preferences import Preferences

router = APIRouter(prefix="/api", tags=["settings"])


@router.get("/settings", response_model=Preferences)
async def read_settings(preferences: PreferencesDep, user: CurrentUser) -> Preferences:
    return await preferences.get(user.name)


@router.put("/settings", response_model=Preferences)
async def update_settings(
    body: SettingsUpdate, preferences: PreferencesDep, user: CurrentUser
) -> Preferences:
    return await preferences.update(user.name, body.model_dump(exclude_unset=True))
