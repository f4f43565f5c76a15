"""A :data:`~ballsy.scope.Scope` as a SQL condition on a table's owner column."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from ballsy.scope import AllUsers, Owner, Scope


def visible_to(owner_column: InstrumentedAttribute[str], scope: Scope) -> ColumnElement[bool]:
    """``owner_column = :user_id`` for an owner, no condition for every user.

    Anything else (``None`` above all) is refused rather than read as "everyone".
    """
    match scope:
        case Owner(user_id=user_id):
            return owner_column == user_id
        case AllUsers():
            return true()
    raise TypeError(f"a Scope is required (Owner or ALL_USERS), not {_name(scope)}")


def _name(value: Any) -> str:
    return type(value).__name__
