"""``POST /api/voice``: speak to Ballsy, get the transcript, the reply and its speech.

The turn is the same one ``/api/command`` runs, with ``source="voice"``
(:class:`ballsy.assistant.spoken_turn.SpokenTurns`); the reply audio comes back as
base64 in the JSON (default), as a URL to fetch it from, or as the WAV body itself
with the texts in headers.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response

from ballsy.api.deps import CurrentUser, SpokenTurnsDep
from ballsy.api.openai_audio import read_bytes
from ballsy.api.openapi import RowId, errors
from ballsy.assistant.schemas import VoiceOut
from ballsy.assistant.spoken_turn import ReplyAudio
from ballsy.names import ClientId

router = APIRouter(prefix="/api", tags=["assistant"], responses=errors(400, 413, 502))


@router.post("/voice", response_model=VoiceOut)
async def voice_command(
    turns: SpokenTurnsDep,
    file: Annotated[UploadFile, File(description="Any common audio container/codec.")],
    client_id: Annotated[ClientId, Form()] = "local",
    audio: Annotated[ReplyAudio, Query(description="How to return the reply speech.")] = "base64",
    *,
    user: CurrentUser,
) -> Response | VoiceOut:
    # The guard resolved the form's client_id when AUTH_MODE=none; with auth on it is
    # only a device label and the authenticated user is who speaks.
    spoken = await turns.answer(
        user.name, await read_bytes(file, turns.max_upload_bytes), reply=audio
    )
    if audio == "wav":
        result = spoken.result
        return Response(
            spoken.speech,
            media_type="audio/wav",
            headers={
                "X-Ballsy-Transcript": quote(result.text),
                "X-Ballsy-Reply": quote(result.reply),
                "X-Ballsy-History-Id": str(result.id),
            },
        )
    return spoken.out()


@router.get("/voice/{history_id}/audio", response_class=FileResponse)
async def voice_reply_audio(
    history_id: RowId, turns: SpokenTurnsDep, user: CurrentUser
) -> FileResponse:
    return FileResponse(await turns.reply_audio(user.user_id, history_id), media_type="audio/wav")
