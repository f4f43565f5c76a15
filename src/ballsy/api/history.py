"""``GET /api/history``: the caller's answered turns, newest first, keyset-paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ballsy.api.deps import CurrentUser, ServicesDep
from ballsy.api.openapi import MAX_ID
from ballsy.api.schemas import HandledBy, HistoryItem, HistoryPage
from ballsy.store.repositories import HistoryRepository

router = APIRouter(prefix="/api", tags=["assistant"])


@router.get("/history", response_model=HistoryPage)
async def read_history(
    services: ServicesDep,
    user: CurrentUser,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ID, description="Page size; capped by the server.")
    ] = 20,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Id from next_before.")
    ] = None,
) -> HistoryPage:
    limit = min(limit, services.settings.history_max_page_size)
    async with services.database.transaction() as session:
        records = await HistoryRepository(session).page(
            user.user_id, limit=limit + 1, before_id=before
        )
    items = [
        HistoryItem(
            id=r.id,
            text=r.input_text,
            reply=r.reply_text,
            source=r.source,
            handled_by=HandledBy(kind=r.handled_by, name=r.handler, model=r.model),
            interrupted=r.interrupted,
            timings=r.timings,
            created_at=r.created_at,
        )
        for r in records[:limit]
    ]
    has_more = len(records) > limit
    return HistoryPage(items=items, next_before=items[-1].id if has_more and items else None)
