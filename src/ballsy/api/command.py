"""``POST /api/command``: a typed command answered by a skill or the LLM."""

from __future__ import annotations

from fastapi import APIRouter

from ballsy.api.deps import AssistantDep, CurrentUser
from ballsy.api.openapi import errors
from ballsy.api.schemas import CommandIn
from ballsy.assistant.schemas import TurnResult

router = APIRouter(prefix="/api", tags=["assistant"], responses=errors(502))


@router.post("/command", response_model=TurnResult)
async def run_command(body: CommandIn, assistant: AssistantDep, user: CurrentUser) -> TurnResult:
    # body.client_id named the user when AUTH_MODE=none (the guard read it); with auth
    # on it is only a device label and the authenticated user is who asks.
    return await assistant.run(user.name, body.text)
