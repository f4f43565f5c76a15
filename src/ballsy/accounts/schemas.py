"""What a user and an API key look like to admins, to their owner and on the CLI.

Each read schema is validated from its ORM row (``from_attributes``) and is the same
object the service returns and the route answers with; nothing is copied by hand.
None of them carries a secret except :class:`KeyCreated`, the one moment a key is
shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from ballsy.names import ClientId
from ballsy.security.principal import Role, as_role

_ROLE_PATTERN = r"^(user|admin)$"


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # counted by the service, always answered


class UserOut(BaseModel):
    """A user as admins see it (``users`` row; ``active_keys`` counted beside it)."""

    model_config = ConfigDict(
        from_attributes=True, frozen=True, json_schema_serialization_defaults_required=True
    )

    id: str
    name: str = Field(validation_alias=AliasChoices("name", "client_id"))
    role: str
    active: bool = Field(validation_alias=AliasChoices("active", "is_active"))
    has_password: bool = Field(validation_alias=AliasChoices("has_password", "password_hash"))
    active_keys: int = Field(default=0, json_schema_extra=_no_default)
    created_at: datetime

    @field_validator("role", mode="before")
    @classmethod
    def _known_role(cls, value: Any) -> Role:
        return as_role(str(value))  # "user" or "admin", whatever the row holds

    @field_validator("has_password", mode="before")
    @classmethod
    def _password_set(cls, value: Any) -> bool:
        # From a row: the hash (or None); from a dump of this schema: the flag itself.
        return value if isinstance(value, bool) else value is not None


class KeyOut(BaseModel):
    """An API key without its secret (``api_keys`` row)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    """A key just issued, with its secret: shown to the caller once, never stored."""

    key: str = Field(description="The API key. Shown this once; only its hash is kept.")

    @property
    def secret(self) -> str:
        return self.key


class UserCreatedOut(BaseModel):
    user: UserOut
    key: KeyCreated | None


class UserCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ClientId
    role: str = Field(default="user", max_length=5, pattern=_ROLE_PATTERN)
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    with_key: bool = True


class UserUpdateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str | None = Field(default=None, max_length=5, pattern=_ROLE_PATTERN)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class KeyCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
