"""Whose rows a read or a change may touch: one owner's, or every user's.

Every scoped call takes a :data:`Scope`, required and never ``None``, from the route
down to the SQL: a user's routes pass ``Owner(user_id)``, admin routes, the operator
CLI and job workers pass :data:`ALL_USERS`. A forgotten argument is a type error, not
a query that returns everyone's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Owner:
    """Only the rows of this user (``users.id``): another user's object is not found."""

    user_id: str


@dataclass(frozen=True, slots=True)
class AllUsers:
    """Every user's rows: for admins, operators and workers, never a user's own route."""


ALL_USERS = AllUsers()
Scope: TypeAlias = Owner | AllUsers
