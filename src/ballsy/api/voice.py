"""``POST /api/voice``: speak to Ballsy, get the transcript, the reply and its speech.

The turn is the same one ``/api/command`` runs, with ``source="voice"``; the reply
audio comes back as base64 in the JSON (default), as a URL to fetch it from, or as the
WAV body itself with the texts in headers.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, Response

from ballsy.api.command import command_out
from ballsy.api.deps import ClientIdDep, CurrentUser, ServicesDep
from ballsy.api.openai_audio import read_upload
from ballsy.api.openapi import RowId, errors
from ballsy.api.schemas import VoiceAudio, VoiceOut
from ballsy.assistant.spoken import speakable
from ballsy.config import Settings
from ballsy.errors import InvalidInput, NotFound
from ballsy.names import ClientId
from ballsy.services import Services
from ballsy.speech.audio import encode_audio
from ballsy.speech.stt import TranscribeOptions, stt_spec
from ballsy.store.repositories import HistoryRepository, UserRepository

router = APIRouter(prefix="/api", tags=["assistant"], responses=errors(400, 413, 502))

AudioMode = Literal["base64", "url", "wav", "none"]


def reply_audio_path(settings: Settings, user_id: str, history_id: int) -> Path:
    return settings.media_dir / "replies" / user_id / f"{history_id}.wav"


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


async def _speak(services: Services, text: str, voice: str | None, speed: float) -> bytes:
    engine = services.settings.tts_engine
    if voice is not None and voice not in services.speech.tts_voices(engine):
        voice = None  # a stored voice of another engine: fall back to the default
    chunks = await services.speech.synthesize(text, voice=voice, speed=speed, engine=engine)
    pieces = [chunk async for chunk in chunks]
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    rate = services.speech.sample_rate_for(engine)
    return await services.speech.runtime.run(encode_audio, samples, rate, "wav")


@router.post("/voice", response_model=VoiceOut)
async def voice_command(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="Any common audio container/codec.")],
    client_id: Annotated[ClientId, Form()] = "local",
    audio: Annotated[AudioMode, Query(description="How to return the reply speech.")] = "base64",
    *,
    user: CurrentUser,
) -> Response | VoiceOut:
    # The guard resolved the form's client_id when AUTH_MODE=none; with auth on it is
    # only a device label and the authenticated user is who speaks.
    client_id = user.name
    started = time.perf_counter()
    decoded = await read_upload(services, file)
    decode_ms = _ms(started)
    preferences = await services.preferences.get(client_id)
    stt_start = time.perf_counter()
    multilingual = stt_spec(services.settings.stt_model).multilingual
    language = preferences.language if multilingual else None
    transcript = await services.speech.transcribe(
        decoded.samples, TranscribeOptions(language=language)
    )
    transcription_ms = _ms(stt_start)
    if not transcript.text.strip():
        raise InvalidInput("no speech was recognised in the audio", detail={"field": "file"})
    turn = await services.assistant.begin(client_id, transcript.text, source="voice")
    turn.timings.update({"decode_ms": decode_ms, "transcription_ms": transcription_ms})
    # What is spoken is spoken text: a model's markdown is never read aloud.
    reply = speakable("".join([piece async for piece in services.assistant.reply(turn)]))
    tts_start = time.perf_counter()
    speech = b""
    if audio != "none":
        speech = await _speak(services, reply, turn.preferences.voice, turn.preferences.speed)
    turn.timings["tts_ms"] = _ms(tts_start)
    result = await services.assistant.finish(turn, reply)
    if audio == "wav":
        return Response(
            speech,
            media_type="audio/wav",
            headers={
                "X-Ballsy-Transcript": quote(result.text),
                "X-Ballsy-Reply": quote(result.reply),
                "X-Ballsy-History-Id": str(result.id),
            },
        )
    audio_out = None
    if audio == "base64":
        audio_out = VoiceAudio(format="wav", base64=base64.b64encode(speech).decode())
    elif audio == "url":
        path = reply_audio_path(services.settings, turn.user_id, result.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(speech)
        audio_out = VoiceAudio(format="wav", url=f"/api/voice/{result.id}/audio")
    return VoiceOut(
        **command_out(result).model_dump(), transcript_language=transcript.language, audio=audio_out
    )


@router.get("/voice/{history_id}/audio", response_class=FileResponse)
async def voice_reply_audio(
    history_id: RowId, services: ServicesDep, client_id: ClientIdDep
) -> FileResponse:
    async with services.database.transaction() as session:
        user = await UserRepository(session).get_by_client_id(client_id)
        record = await HistoryRepository(session).get(user.id, history_id) if user else None
    if record is None or user is None:
        raise NotFound("no reply audio with that id")
    path = reply_audio_path(services.settings, user.id, history_id)
    if not path.is_file():
        raise NotFound("no reply audio with that id")
    return FileResponse(path, media_type="audio/wav")
