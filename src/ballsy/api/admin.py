"""``/api/admin``: user and key management, state, usage and configuration (admins only).

The whole router requires the admin role (403 otherwise); with ``AUTH_MODE=none``
the single local developer is the admin.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from ballsy.api.auth import KeyCreated, KeyCreateIn, KeyOut
from ballsy.api.deps import ServicesDep, require_admin
from ballsy.security.secrets import redact_url
from ballsy.security.users import UserInfo
from ballsy.store.repositories import UsageRepository

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(require_admin)])


class UserOut(BaseModel):
    id: str
    name: str
    role: str
    active: bool
    has_password: bool
    active_keys: int
    created_at: datetime

    @classmethod
    def of(cls, user: UserInfo) -> UserOut:
        return cls(
            id=user.id,
            name=user.name,
            role=user.role,
            active=user.active,
            has_password=user.has_password,
            active_keys=user.active_keys,
            created_at=user.created_at,
        )


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    role: str = Field(default="user", pattern=r"^(user|admin)$")
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    with_key: bool = True


class UserCreatedOut(BaseModel):
    user: UserOut
    key: KeyCreated | None


class UserUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, pattern=r"^(user|admin)$")
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class UsageOut(BaseModel):
    user_id: str
    tokens: int
    requests: int


@router.get("/users", response_model=list[UserOut])
async def list_users(
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[UserOut]:
    return [UserOut.of(u) for u in await services.users.list_users(limit=limit, offset=offset)]


@router.post("/users", response_model=UserCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreateIn, services: ServicesDep) -> UserCreatedOut:
    user = await services.users.create_user(body.name, role=body.role, password=body.password)
    key = await services.users.create_key(user.id) if body.with_key else None
    return UserCreatedOut(user=UserOut.of(user), key=KeyCreated.issued(key) if key else None)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: str, body: UserUpdateIn, services: ServicesDep) -> UserOut:
    user = await services.users.update_user(
        user_id, active=body.active, role=body.role, password=body.password
    )
    return UserOut.of(user)


@router.get("/users/{user_id}/keys", response_model=list[KeyOut])
async def list_user_keys(user_id: str, services: ServicesDep) -> list[KeyOut]:
    await services.users.get_user(user_id)  # 404 for an unknown user, not an empty list
    return [KeyOut.of(key) for key in await services.users.list_keys(user_id)]


@router.post(
    "/users/{user_id}/keys", response_model=KeyCreated, status_code=status.HTTP_201_CREATED
)
async def create_user_key(user_id: str, body: KeyCreateIn, services: ServicesDep) -> KeyCreated:
    issued = await services.users.create_key(
        user_id, name=body.name, expires_in_days=body.expires_in_days
    )
    return KeyCreated.issued(issued)


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def revoke_key(key_id: str, services: ServicesDep) -> KeyOut:
    return KeyOut.of(await services.users.revoke_key(key_id, owner=None))


@router.get("/state")
async def state(services: ServicesDep) -> dict[str, Any]:
    """Which state backend serves (Redis or the in-process fallback) and active sessions."""
    return {
        "state": services.state.status(),
        "active_sessions": await services.sessions.active_count(),
        "max_concurrent_sessions": services.settings.max_concurrent_sessions,
        "auth_mode": services.settings.auth_mode,
    }


@router.get("/usage", response_model=list[UsageOut])
async def usage(services: ServicesDep) -> list[UsageOut]:
    """Tokens spent on paid LLM providers today (UTC), per user, largest first."""
    async with services.database.transaction() as session:
        rows = await UsageRepository(session).on(datetime.now(UTC).date())
    return [UsageOut(user_id=r.user_id, tokens=r.tokens, requests=r.requests) for r in rows]


@router.get("/config")
async def config(services: ServicesDep) -> dict[str, Any]:
    """The running configuration; secrets show as ``**********``, URL passwords as ***."""
    values = services.settings.model_dump(mode="json")
    for name in ("database_url", "redis_url", "llm_base_url"):
        values[name] = redact_url(values.get(name))
    return values
