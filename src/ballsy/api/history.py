"""``GET /api/history``: the caller's answered turns, newest first, keyset-paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ballsy.api.deps import AssistantDep, CurrentUser
from ballsy.api.openapi import MAX_ID
from ballsy.assistant.schemas import HistoryPage

router = APIRouter(prefix="/api", tags=["assistant"])


@router.get("/history", response_model=HistoryPage)
async def read_history(
    assistant: AssistantDep,
    user: CurrentUser,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ID, description="Page size; capped by the server.")
    ] = 20,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Id from next_before.")
    ] = None,
) -> HistoryPage:
    return await assistant.history(user.user_id, limit=limit, before=before)
