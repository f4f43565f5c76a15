"""OpenAI-compatible audio: ``/v1/audio/transcriptions``, ``translations``, ``speech``.

Field names, response shapes and streaming events follow OpenAI's API so the official
SDKs work with ``base_url`` pointed at Ballsy. OpenAI's model and voice names are
accepted as aliases of the local engines (see docs/api.md).
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ballsy.api.deps import SpeechDep
from ballsy.api.openapi import STREAMED, errors
from ballsy.errors import InvalidInput, PayloadTooLarge, UnknownModel
from ballsy.names import OPENAI_STT_MODELS, OPENAI_TTS_MODELS, OPENAI_VOICES
from ballsy.speech.audio import DecodedAudio, encode_audio
from ballsy.speech.formats import render_text, verbose_json
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import TranscribeOptions, Transcript, stt_spec
from ballsy.speech.tts import Int16Array

router = APIRouter(prefix="/v1/audio", tags=["openai-compatible"], responses=errors(400, 413))
VoiceName = Annotated[str, Field(max_length=64)]

TranscriptFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
_MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def resolve_stt_model(speech: SpeechService, model: str) -> str:
    if model in OPENAI_STT_MODELS:
        return speech.settings.stt_model
    if model in speech.stt_models():
        return model
    names = ", ".join([*speech.stt_models(), *sorted(OPENAI_STT_MODELS)])
    raise UnknownModel(
        f"unknown transcription model '{model}'; available: {names}", detail={"field": "model"}
    )


async def read_bytes(file: UploadFile, limit: int) -> bytes:
    """The uploaded file, refused when it is empty or larger than ``limit`` bytes."""
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes", detail={"limit": limit})
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes", detail={"limit": limit})
    if not data:
        raise InvalidInput("the uploaded file is empty", detail={"field": "file"})
    return data


async def read_upload(speech: SpeechService, file: UploadFile) -> DecodedAudio:
    """Check the size, then decode off the loop (errors are clear 4xx, never 500)."""
    return await speech.decode(await read_bytes(file, speech.settings.max_upload_bytes))


def transcript_response(
    transcript: Transcript, fmt: TranscriptFormat, *, task: str, granularities: Sequence[str]
) -> Response:
    if fmt == "json":
        usage = {"type": "duration", "seconds": round(transcript.duration)}
        return JSONResponse({"text": transcript.text, "usage": usage})
    if fmt == "verbose_json":
        segments = not granularities or "segment" in granularities
        words = "word" in granularities
        return JSONResponse(verbose_json(transcript, task=task, segments=segments, words=words))
    text = render_text(transcript, "txt" if fmt == "text" else fmt)
    return PlainTextResponse(text + ("\n" if fmt == "text" else ""))


def _sse(event: dict[str, Any]) -> str:
    return f"data: {json.dumps(event)}\n\n"


async def _stream_transcript(
    speech: SpeechService, audio: DecodedAudio, options: TranscribeOptions, model: str
) -> StreamingResponse:
    segments = await speech.iter_segments(audio.samples, options, model)

    async def events() -> AsyncIterator[str]:
        parts: list[str] = []
        async for segment in segments:
            text = segment.text.strip()
            if text:
                yield _sse(
                    {
                        "type": "transcript.text.delta",
                        "delta": (" " if parts else "") + text,
                        "logprobs": None,
                    }
                )
                parts.append(text)
        yield _sse(
            {
                "type": "transcript.text.done",
                "text": " ".join(parts),
                "logprobs": None,
                "usage": {"type": "duration", "seconds": round(audio.duration)},
            }
        )

    return StreamingResponse(events(), media_type="text/event-stream")


Granularities = Annotated[list[Literal["word", "segment"]], Form(alias="timestamp_granularities[]")]


@router.post("/transcriptions", responses=STREAMED)
async def create_transcription(
    speech: SpeechDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form(max_length=64)] = "whisper-1",
    language: Annotated[str | None, Form(max_length=3, pattern=r"^[a-z]{2,3}$")] = None,
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    response_format: Annotated[TranscriptFormat, Form()] = "json",
    temperature: Annotated[float, Form(ge=0.0, le=1.0)] = 0.0,
    timestamp_granularities: Granularities = [],  # noqa: B006 - FastAPI copies defaults
    stream: Annotated[bool, Form()] = False,
) -> Response:
    name = resolve_stt_model(speech, model)
    options = TranscribeOptions(
        language=language,
        prompt=prompt,
        temperature=temperature,
        word_timestamps="word" in timestamp_granularities,
    )
    stt_spec(name).check(options)
    audio = await read_upload(speech, file)
    if stream:
        return await _stream_transcript(speech, audio, options, name)
    transcript = await speech.transcribe(audio.samples, options, name)
    return transcript_response(
        transcript, response_format, task="transcribe", granularities=timestamp_granularities
    )


@router.post("/translations", responses=STREAMED)
async def create_translation(
    speech: SpeechDep,
    file: Annotated[UploadFile, File()],
    model: Annotated[str, Form(max_length=64)] = "whisper-1",
    prompt: Annotated[str | None, Form(max_length=2000)] = None,
    response_format: Annotated[TranscriptFormat, Form()] = "json",
    temperature: Annotated[float, Form(ge=0.0, le=1.0)] = 0.0,
) -> Response:
    requested = resolve_stt_model(speech, model)
    # Translation needs a multilingual model: aliases pick one; an explicit English-only
    # model is refused by check_options with a clear message.
    if model in OPENAI_STT_MODELS:
        multilingual = [s.name for s in speech.stt_model_info() if s.multilingual]
        name = multilingual[0] if multilingual else requested
    else:
        name = requested
    options = TranscribeOptions(prompt=prompt, temperature=temperature, task="translate")
    stt_spec(name).check(options)
    audio = await read_upload(speech, file)
    transcript = await speech.transcribe(audio.samples, options, name)
    return transcript_response(transcript, response_format, task="translate", granularities=[])


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = Field(max_length=64)
    input: str = Field(min_length=1, max_length=4096)
    voice: VoiceName | Annotated[dict[str, VoiceName], Field(max_length=4)] = "alloy"
    response_format: SpeechFormat = "mp3"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(default=None, max_length=4096)
    stream_format: Literal["audio", "sse"] = "audio"


def _resolve_tts(speech: SpeechService, model: str, voice: str | dict[str, str]) -> tuple[str, str]:
    engines = speech.tts_engines()
    engine: str
    if model in OPENAI_TTS_MODELS:
        engine = speech.settings.tts_engine
    elif model in engines:
        engine = model
    else:
        names = ", ".join([*engines, *sorted(OPENAI_TTS_MODELS)])
        raise UnknownModel(
            f"unknown speech model '{model}'; available: {names}", detail={"field": "model"}
        )
    name = voice.get("id", "") if isinstance(voice, dict) else voice
    if name in OPENAI_VOICES:
        return engine, speech.default_voice(engine)
    voices = speech.tts_voices(engine)
    if name not in voices:
        raise InvalidInput(
            f"unknown voice '{name}' for {engine}; available: {', '.join(voices)} "
            f"(or an OpenAI voice name)",
            detail={"field": "voice"},
        )
    return engine, name


def streaming_wav_header(sample_rate: int) -> bytes:
    """A WAV header for a stream whose length is not known yet (sizes set to max)."""
    unknown = 0xFFFFFFFF
    return (
        b"RIFF"
        + struct.pack("<I", unknown)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", unknown)
    )


@router.post("/speech")
async def create_speech(body: SpeechRequest, speech: SpeechDep) -> Response:
    engine, voice = _resolve_tts(speech, body.model, body.voice)
    rate = speech.sample_rate_for(engine)
    chunks = await speech.synthesize(body.input, voice=voice, speed=body.speed, engine=engine)
    fmt = body.response_format
    headers = {"X-Sample-Rate": str(rate)}
    if body.stream_format == "sse":

        async def sse() -> AsyncIterator[str]:
            async for chunk in chunks:
                audio = base64.b64encode(chunk.tobytes()).decode()
                yield _sse({"type": "speech.audio.delta", "audio": audio})
            yield _sse(
                {
                    "type": "speech.audio.done",
                    "usage": {
                        "input_tokens": len(body.input),
                        "output_tokens": 0,
                        "total_tokens": len(body.input),
                    },
                }
            )

        return StreamingResponse(sse(), media_type="text/event-stream", headers=headers)
    if fmt in ("wav", "pcm"):
        # Raw PCM streams sentence by sentence: the first audio leaves after one sentence.
        async def pcm() -> AsyncIterator[bytes]:
            if fmt == "wav":
                yield streaming_wav_header(rate)
            async for chunk in chunks:
                yield chunk.tobytes()

        return StreamingResponse(pcm(), media_type=_MEDIA_TYPES[fmt], headers=headers)
    pieces = [chunk async for chunk in chunks]
    samples = _concat(pieces)
    encoded = await speech.runtime.run(encode_audio, samples, rate, fmt)
    return Response(encoded, media_type=_MEDIA_TYPES[fmt], headers=headers)


def _concat(pieces: list[Int16Array]) -> Int16Array:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
