"""``GET /api/events``: the caller's notices (due timers and reminders) as server-sent events.

Each notice is one ``event: notice`` whose data is the JSON of
:func:`ballsy.notices.scheduler.notice_event`; the same notice is in ``GET /api/history``.
A comment line every ``HEARTBEAT_S`` keeps proxies from closing an idle stream. A user
holds at most ``SSE_STREAMS_PER_USER`` streams at once (:mod:`ballsy.api.streams`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ballsy.api.deps import CurrentUser, ListenersDep, SettingsDep
from ballsy.api.streams import held, take_slot

router = APIRouter(prefix="/api", tags=["assistant"])

HEARTBEAT_S = 15.0


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def events(
    request: Request, listeners: ListenersDep, user: CurrentUser, settings: SettingsDep
) -> StreamingResponse:
    """Notices for the authenticated user as they fire, until the client goes away
    (429 ``rate_limited`` beyond ``SSE_STREAMS_PER_USER`` open streams)."""
    release = take_slot(user.user_id, settings.sse_streams_per_user)

    async def stream() -> AsyncIterator[str]:
        with listeners.stream(user.name) as queue:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {event['type']}\nid: {event['id']}\ndata: {json.dumps(event)}\n\n"

    return StreamingResponse(
        held(stream(), release),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
