"""Password hashing with pwdlib's Argon2id, off the event loop (a verify takes ~0.3 s)."""

from __future__ import annotations

import asyncio
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ballsy.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both paths take the same time."""
    return _hasher.hash("ballsy-timing-equaliser")


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"passwords need at least {MIN_PASSWORD_LENGTH} characters",
            detail={"field": "password"},
        )
    if len(password) > 1024:
        raise InvalidInput("passwords are at most 1024 characters", detail={"field": "password"})


async def hash_password(password: str) -> str:
    check_password_rules(password)
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """True when ``password`` matches; a missing hash costs as much as a wrong one."""
    if len(password) > 1024:
        return False
    reference: str = password_hash if password_hash else await asyncio.to_thread(_dummy_hash)
    ok = await asyncio.to_thread(_hasher.verify, password, reference)
    return ok and password_hash is not None
