"""Read-only queries over every user's turns, for the admin dashboard's analytics.

The only repository that is not scoped to one user: it serves admin-only routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballsy.store.models import CommandRecord


@dataclass(frozen=True, slots=True)
class TurnRow:
    """The columns analytics need from one ``command_history`` row."""

    created_at: datetime  # always timezone-aware UTC
    user_id: str
    conversation_id: str | None
    source: str
    handled_by: str
    handler: str
    model: str | None
    interrupted: bool
    timings: dict[str, Any]


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were written as UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class TurnAnalyticsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def turns_since(self, since: datetime, *, limit: int) -> list[TurnRow]:
        """Turns created at or after ``since``, newest first, at most ``limit``."""
        result = await self.session.execute(
            select(
                CommandRecord.created_at,
                CommandRecord.user_id,
                CommandRecord.conversation_id,
                CommandRecord.source,
                CommandRecord.handled_by,
                CommandRecord.handler,
                CommandRecord.model,
                CommandRecord.interrupted,
                CommandRecord.timings,
            )
            .where(CommandRecord.created_at >= since)
            .order_by(CommandRecord.id.desc())
            .limit(limit)
        )
        return [
            TurnRow(
                created_at=_aware(row.created_at),
                user_id=row.user_id,
                conversation_id=row.conversation_id,
                source=row.source,
                handled_by=row.handled_by,
                handler=row.handler,
                model=row.model,
                interrupted=bool(row.interrupted),
                timings=dict(row.timings or {}),
            )
            for row in result
        ]
