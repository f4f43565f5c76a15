"""User and API key administration: what ``ballsy users`` and the admin API call.

What is returned never carries a secret except :class:`KeyCreated`, the one moment a
key is shown. Disabling a user, changing their password or their role bumps
``token_version``, which voids every access token, refresh token and WebSocket ticket
they hold (each use re-reads it). Disabling or a password change also revokes all of
their API keys, the one in use included: a key may be what leaked.

Self-service keys (:meth:`Accounts.create_key` with a ``creator``, from
``POST /api/auth/keys``) need a fresh password login or an admin; an API key of a
non-admin cannot create keys; such a key always expires, within ``max_days`` and never
after the admin key that created it. A key acts with its owner's current role, so it
cannot out-scope them. At most ``max_keys_per_user`` live keys per user, on every path.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from ballsy.accounts.keys import new_api_key
from ballsy.accounts.schemas import KeyCreated, KeyOut, UserCreatedOut, UserOut
from ballsy.errors import Conflict, Forbidden, InvalidInput, NotFound
from ballsy.names import valid_client_id
from ballsy.scope import Scope
from ballsy.security.passwords import hash_password
from ballsy.security.principal import ROLES, Principal, Role, as_role
from ballsy.store.db import Database
from ballsy.store.models import ApiKey, utcnow
from ballsy.store.repositories import ApiKeyRepository, UserRepository


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", detail={"field": "role"})
    return as_role(role)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=utcnow().tzinfo)


def check_may_create_key(creator: Principal, *, fresh_login_s: int) -> None:
    """An admin (any credential), or a password login at most ``fresh_login_s`` old."""
    if creator.is_admin:
        return
    if creator.via != "jwt" or creator.auth_time is None:
        raise Forbidden("creating an API key needs a password login (POST /api/auth/token)")
    if time.time() - creator.auth_time > fresh_login_s:
        raise Forbidden("creating an API key needs a recent password login: log in again")


class Accounts:
    def __init__(self, database: Database, *, max_keys_per_user: int = 20) -> None:
        self.database = database
        self.max_keys_per_user = max_keys_per_user

    # --- users -----------------------------------------------------------------------

    async def create_user(
        self, name: str, *, role: str = "user", password: str | None = None
    ) -> UserOut:
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
        return UserOut.model_validate(user)

    async def register(
        self, name: str, *, role: str = "user", password: str | None = None, with_key: bool
    ) -> UserCreatedOut:
        """A new user and, with ``with_key``, their first API key."""
        user = await self.create_user(name, role=role, password=password)
        key = await self.create_key(user.id) if with_key else None
        return UserCreatedOut(user=user, key=key)

    async def get_user(self, user_id: str) -> UserOut:
        async with self.database.transaction() as session:
            user = await UserRepository(session).get(user_id)
        if user is None:
            raise NotFound("no user with that id")
        return UserOut.model_validate(user)

    async def find_user(self, name: str) -> UserOut | None:
        async with self.database.transaction() as session:
            user = await UserRepository(session).get_by_client_id(name)
        return UserOut.model_validate(user) if user else None

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[UserOut]:
        async with self.database.transaction() as session:
            users = await UserRepository(session).page(limit=limit, offset=offset)
            counts = await ApiKeyRepository(session).active_counts()
        return [
            UserOut.model_validate(user).model_copy(update={"active_keys": counts.get(user.id, 0)})
            for user in users
        ]

    async def update_user(
        self,
        user_id: str,
        *,
        active: bool | None = None,
        role: str | None = None,
        password: str | None = None,
    ) -> UserOut:
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
                user.token_version += 1  # old tokens and tickets must not outlive the change
            if password_hash is not None or active is False:
                await ApiKeyRepository(session).revoke_all_for(user_id, utcnow())
            await session.flush()
        return UserOut.model_validate(user)

    # --- API keys --------------------------------------------------------------------

    async def create_key(
        self,
        user_id: str,
        *,
        name: str = "default",
        expires_in_days: int | None = None,
        creator: Principal | None = None,
        max_days: int = 365,
    ) -> KeyCreated:
        """A new key; ``creator`` (self-service) bounds its life (module docstring);
        without one (admin API, CLI) it may be permanent."""
        issued = new_api_key()
        if creator is not None:
            expires_in_days = min(expires_in_days or max_days, max_days)
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        async with self.database.transaction() as session:
            if await UserRepository(session).get(user_id) is None:
                raise NotFound("no user with that id")
            keys = ApiKeyRepository(session)
            if creator is not None and creator.key_id is not None:
                parent = await keys.get(creator.key_id)
                if parent is not None and parent.expires_at is not None:
                    parent_end = _aware(parent.expires_at)
                    expires = min(expires, parent_end) if expires else parent_end
            if await keys.live_count(user_id) >= self.max_keys_per_user:
                raise Conflict(
                    f"a user may hold at most {self.max_keys_per_user} API keys: revoke one",
                    detail={"limit": self.max_keys_per_user},
                )
            key = await keys.add(
                ApiKey(
                    user_id=user_id,
                    name=name[:100] or "default",
                    prefix=issued.prefix,
                    key_hash=issued.key_hash,
                    expires_at=expires,
                )
            )
        return KeyCreated(**KeyOut.model_validate(key).model_dump(), key=issued.secret)

    async def list_keys(self, user_id: str) -> list[KeyOut]:
        """A user's keys, oldest first; an unknown user is a 404, not an empty list."""
        async with self.database.transaction() as session:
            if await UserRepository(session).get(user_id) is None:
                raise NotFound("no user with that id")
            keys = await ApiKeyRepository(session).list_for(user_id)
            return [KeyOut.model_validate(key) for key in keys]

    async def revoke_key(self, key_id: str, scope: Scope) -> KeyOut:
        """Revoke by id or display prefix, if ``scope`` sees it (another's key: 404)."""
        async with self.database.transaction() as session:
            key = await ApiKeyRepository(session).revoke(key_id, scope)
        if key is None:
            raise NotFound("no API key with that id")
        return KeyOut.model_validate(key)
