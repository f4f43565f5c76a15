"""A spoken turn over REST: audio in, the transcript answered, the reply spoken.

:class:`SpokenTurns` runs ``POST /api/voice``: decode → STT (in the user's language
when the model is multilingual) → the assistant's turn (``source="voice"``) → TTS of
the speakable reply, with each stage measured into the turn's
:class:`~ballsy.observability.turns.TurnTimings`. :func:`speak`, text into one encoded
audio file, is its last stage and all of ``ballsy say``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ballsy.assistant.preferences import PreferencesService
from ballsy.assistant.schemas import TurnResult, VoiceAudio, VoiceOut
from ballsy.assistant.service import Assistant
from ballsy.assistant.spoken import speakable
from ballsy.config import Settings
from ballsy.errors import InvalidInput, NotFound
from ballsy.jobs.retention import delete_older_than
from ballsy.observability.turns import TurnTimings
from ballsy.speech.audio import AudioSource, encode_audio
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import TranscribeOptions, stt_spec

ReplyAudio = Literal["base64", "url", "wav", "none"]
"""How the reply's speech goes back: in the JSON, as a URL to fetch, as the body, not."""


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def reply_audio_path(settings: Settings, user_id: str, history_id: int) -> Path:
    """Where a turn's reply speech is kept for ``GET /api/voice/{id}/audio``.

    Kept ``VOICE_AUDIO_TTL`` seconds: an older one is deleted when it is asked for,
    when its user's next one is written, and by the job retention pass.
    """
    return settings.reply_audio_dir / user_id / f"{history_id}.wav"


def _expired(path: Path, ttl: float) -> bool:
    try:
        return time.time() - path.stat().st_mtime > ttl
    except FileNotFoundError:
        return True


async def speak(
    speech: SpeechService,
    text: str,
    *,
    voice: str | None = None,
    speed: float = 1.0,
    engine: str | None = None,
    fmt: str = "wav",
) -> bytes:
    """``text`` spoken by ``engine`` (default ``TTS_ENGINE``), encoded as ``fmt``."""
    chunks = await speech.synthesize(text, voice=voice, speed=speed, engine=engine)
    pieces = [chunk async for chunk in chunks]
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    return await speech.runtime.run(encode_audio, samples, speech.sample_rate_for(engine), fmt)


@dataclass(frozen=True, slots=True)
class SpokenTurn:
    result: TurnResult
    transcript_language: str
    speech: bytes
    """The reply as WAV; empty when no audio was asked for."""
    audio: VoiceAudio | None

    def out(self) -> VoiceOut:
        return VoiceOut(
            **self.result.model_dump(),
            transcript_language=self.transcript_language,
            audio=self.audio,
        )


class SpokenTurns:
    def __init__(
        self,
        settings: Settings,
        speech: SpeechService,
        assistant: Assistant,
        preferences: PreferencesService,
    ) -> None:
        self.settings = settings
        self.speech = speech
        self.assistant = assistant
        self.preferences = preferences

    @property
    def max_upload_bytes(self) -> int:
        return self.settings.max_upload_bytes

    def reply_audio_path(self, user_id: str, history_id: int) -> Path:
        return reply_audio_path(self.settings, user_id, history_id)

    async def answer(self, client_id: str, audio: AudioSource, *, reply: ReplyAudio) -> SpokenTurn:
        """Answer what ``client_id`` said in ``audio`` (any container or codec)."""
        started = time.perf_counter()
        decoded = await self.speech.decode(audio)
        decode_ms = _ms(started)
        preferences = await self.preferences.get(client_id)
        stt_start = time.perf_counter()
        multilingual = stt_spec(self.settings.stt_model).multilingual
        language = preferences.language if multilingual else None
        transcript = await self.speech.transcribe(
            decoded.samples, TranscribeOptions(language=language)
        )
        transcription_ms = _ms(stt_start)
        if not transcript.text.strip():
            raise InvalidInput("no speech was recognised in the audio", detail={"field": "file"})
        turn = await self.assistant.begin(client_id, transcript.text, source="voice")
        # What is spoken is spoken text: a model's markdown is never read aloud.
        text = speakable("".join([piece async for piece in self.assistant.reply(turn)]))
        tts_start = time.perf_counter()
        speech = b""
        if reply != "none":
            speech = await self._speak(text, turn.preferences.voice, turn.preferences.speed)
        timings = TurnTimings(
            decode_ms=decode_ms, transcription_ms=transcription_ms, tts_ms=_ms(tts_start)
        )
        result = await self.assistant.finish(turn, text, timings=timings)
        audio_out: VoiceAudio | None = None
        if reply == "base64":
            audio_out = VoiceAudio(format="wav", base64=base64.b64encode(speech).decode())
        elif reply == "url":
            path = self.reply_audio_path(turn.user_id, result.id)
            await asyncio.to_thread(self._store_reply, path, speech)
            audio_out = VoiceAudio(format="wav", url=f"/api/voice/{result.id}/audio")
        return SpokenTurn(result, transcript.language, speech, audio_out)

    async def reply_audio(self, user_id: str, history_id: int) -> Path:
        """The stored speech of one of the user's turns (``?audio=url``), or a 404."""
        try:
            await self.assistant.stored_turn(user_id, history_id)
        except NotFound:
            raise NotFound("no reply audio with that id") from None
        path = self.reply_audio_path(user_id, history_id)
        if await asyncio.to_thread(_expired, path, self.settings.voice_audio_ttl):
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise NotFound("no reply audio with that id (it expired)")
        return path

    def _store_reply(self, path: Path, speech: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        delete_older_than(path.parent, self.settings.voice_audio_ttl, now=time.time())
        path.write_bytes(speech)

    async def _speak(self, text: str, voice: str | None, speed: float) -> bytes:
        engine = self.settings.tts_engine
        if voice is not None and voice not in self.speech.tts_voices(engine):
            voice = None  # a stored voice of another engine: fall back to the default
        return await speak(self.speech, text, voice=voice, speed=speed, engine=engine)
