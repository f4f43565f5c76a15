"""``POST /api/command``: a typed command answered by a skill or the LLM."""

from __future__ import annotations

from fastapi import APIRouter

from ballsy.api.deps import CurrentUser, ServicesDep
from ballsy.api.openapi import errors
from ballsy.api.schemas import CommandIn, CommandOut, HandledBy
from ballsy.assistant.service import TurnResult

router = APIRouter(prefix="/api", tags=["assistant"], responses=errors(502))


def command_out(result: TurnResult) -> CommandOut:
    return CommandOut(
        id=result.id,
        text=result.text,
        reply=result.reply,
        handled_by=HandledBy(kind=result.handled_by, name=result.handler, model=result.model),
        data=result.data,
        timings=result.timings,
        conversation_id=result.conversation_id,
        created_at=result.created_at,
    )


@router.post("/command", response_model=CommandOut)
async def run_command(body: CommandIn, services: ServicesDep, user: CurrentUser) -> CommandOut:
    # body.client_id named the user when AUTH_MODE=none (the guard read it); with auth
    # on it is only a device label and the authenticated user is who asks.
    result = await services.assistant.run(user.name, body.text)
    return command_out(result)
