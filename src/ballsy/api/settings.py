"""``GET|PUT /api/settings``: the caller's voice, speed, language, persona and LLM."""

from __future__ import annotations

from fastapi import APIRouter

from ballsy.api.deps import CurrentUser, ServicesDep
from ballsy.api.schemas import SettingsOut, SettingsUpdate

router = APIRouter(prefix="/api", tags=["settings"])


@router.get("/settings", response_model=SettingsOut)
async def read_settings(services: ServicesDep, user: CurrentUser) -> SettingsOut:
    preferences = await services.preferences.get(user.name)
    return SettingsOut(**preferences.as_dict())


@router.put("/settings", response_model=SettingsOut)
async def update_settings(
    body: SettingsUpdate, services: ServicesDep, user: CurrentUser
) -> SettingsOut:
    preferences = await services.preferences.update(user.name, body.model_dump(exclude_unset=True))
    return SettingsOut(**preferences.as_dict())
