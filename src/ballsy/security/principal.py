"""The authenticated caller, as every route and service sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "admin"]
AuthMethod = Literal["none", "apikey", "jwt", "ticket"]
ROLES: tuple[Role, ...] = ("user", "admin")


def as_role(value: str) -> Role:
    return "admin" if value == "admin" else "user"


@dataclass(frozen=True, slots=True)
class Principal:
    """A user acting through one credential.

    ``name`` is the user's unique name (``users.client_id``): the key the assistant and
    preferences services use. ``via`` says how they proved it.
    """

    user_id: str
    name: str
    role: Role
    via: AuthMethod
    key_id: str | None = None
    auth_time: int | None = None  # a JWT's: when its password login was (epoch seconds)
    version: int | None = None  # the user's token_version when this credential was checked

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
