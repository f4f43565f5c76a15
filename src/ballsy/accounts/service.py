"""User and API key administration: what ``ballsy users`` and the admin API call.

Views returned here never carry a secret except :class:`IssuedKey`, the one moment a
key is shown. Disabling a user or changing a password bumps ``token_version``, which
voids every refresh token they hold; their API keys stop working at once because key
lookups require an active owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ballsy.errors import Conflict, InvalidInput, NotFound
from ballsy.names import valid_client_id
from ballsy.scope import Scope
from ballsy.security.api_keys import new_api_key
from ballsy.security.passwords import hash_password
from ballsy.security.principal import ROLES, Role, as_role
from ballsy.store.db import Database
from ballsy.store.models import ApiKey, User, utcnow
from ballsy.store.repositories import ApiKeyRepository, UserRepository


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: str
    name: str
    role: Role
    active: bool
    has_password: bool
    created_at: datetime
    active_keys: int = 0


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    user_id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: KeyInfo
    secret: str  # shown to the caller once; only its hash is stored


def user_info(user: User, active_keys: int = 0) -> UserInfo:
    return UserInfo(
        id=user.id,
        name=user.client_id,
        role=as_role(user.role),
        active=user.is_active,
        has_password=user.password_hash is not None,
        created_at=user.created_at,
        active_keys=active_keys,
    )


def key_info(key: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=key.id,
        user_id=key.user_id,
        name=key.name,
        prefix=key.prefix,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
    )


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", detail={"field": "role"})
    return as_role(role)


class UserAdmin:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create_user(
        self, name: str, *, role: str = "user", password: str | None = None
    ) -> UserInfo:
        if not valid_client_id(name):
            raise InvalidInput(
                "user names are 1-128 letters, digits or ._:@-", detail={"field": "name"}
            )
        checked_role = _check_role(role)
        password_hash = await hash_password(password) if password is not None else None
        async with self.database.transaction() as session:
            user = await UserRepository(session).create(
                name, role=checked_role, password_hash=password_hash
            )
        if user is None:
            raise Conflict(f"a user named '{name}' exists already", detail={"field": "name"})
        return user_info(user)

    async def get_user(self, user_id: str) -> UserInfo:
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            raise NotFound("no user with that id")
        return user_info(user)

    async def find_user(self, name: str) -> UserInfo | None:
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_by_client_id(name)
        return user_info(user) if user else None

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[UserInfo]:
        async with self.database.transaction() as session:
            users = await UserRepository(session).page(limit=limit, offset=offset)
            counts = await ApiKeyRepository(session).active_counts()
        return [user_info(user, counts.get(user.id, 0)) for user in users]

    async def update_user(
        self,
        user_id: str,
        *,
        active: bool | None = None,
        role: str | None = None,
        password: str | None = None,
    ) -> UserInfo:
        password_hash = await hash_password(password) if password is not None else None
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(user_id)
            if user is None:
                raise NotFound("no user with that id")
            if role is not None:
                user.role = _check_role(role)
            if password_hash is not None:
                user.password_hash = password_hash
            if active is not None:
                user.is_active = active
            if password_hash is not None or active is False or role is not None:
                user.token_version += 1  # old refresh tokens must not outlive the change
            await session.flush()
        return user_info(user)

    async def create_key(
        self, user_id: str, *, name: str = "default", expires_in_days: int | None = None
    ) -> IssuedKey:
        issued = new_api_key()
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        async with self.database.transaction() as session:
            if await UserRepository(session).get(user_id) is None:
                raise NotFound("no user with that id")
            key = await ApiKeyRepository(session).add(
                ApiKey(
                    user_id=user_id,
                    name=name[:100] or "default",
                    prefix=issued.prefix,
                    key_hash=issued.key_hash,
                    expires_at=expires,
                )
            )
        return IssuedKey(key_info(key), issued.secret)

    async def list_keys(self, user_id: str) -> list[KeyInfo]:
        async with self.database.transaction() as session:
            return [key_info(k) for k in await ApiKeyRepository(session).list_for(user_id)]

    async def revoke_key(self, key_id: str, scope: Scope) -> KeyInfo:
        """Revoke by id or display prefix, if ``scope`` sees it (another's key: 404)."""
        async with self.database.transaction() as session:
            key = await ApiKeyRepository(session).revoke(key_id, scope)
        if key is None:
            raise NotFound("no API key with that id")
        return key_info(key)
