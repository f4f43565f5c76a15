"""``POST /api/voice``: spoken question in, transcript + reply + spoken reply out."""

from __future__ import annotations

import base64
import io
import wave
from pathlib import Path
from urllib.parse import unquote

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from ballsy.cli import cli
from ballsy.speech.audio import decode_audio, encode_audio
from ballsy.speech.stt import TranscribeOptions


@pytest.fixture(scope="module")
async def question_wav(app: object) -> bytes:
    """ "What is twelve times seven?" spoken by Ballsy's own TTS (Piper voice)."""
    speech = app.state.services.speech  # type: ignore[attr-defined]
    chunks = await speech.synthesize("What is twelve times seven?", engine="piper")
    samples = np.concatenate([c async for c in chunks])
    return encode_audio(samples, speech.sample_rate_for("piper"), "wav")


async def test_spoken_math_gets_a_spoken_answer(
    client: httpx.AsyncClient, app: object, question_wav: bytes, client_id: str
) -> None:
    response = await client.post(
        "/api/voice",
        files={"file": ("question.wav", question_wav, "audio/wav")},
        data={"client_id": client_id},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "12" in body["text"] and "7" in body["text"]
    assert body["handled_by"]["name"] == "math" and body["data"]["value"] == 84
    assert "84" in body["reply"]
    assert {"decode_ms", "transcription_ms", "tts_ms", "total_ms"} <= set(body["timings"])
    assert "stt_ms" not in body["timings"]
    speech = base64.b64decode(body["audio"]["base64"])
    decoded = decode_audio(speech)
    assert decoded.duration > 1.0
    services = app.state.services  # type: ignore[attr-defined]
    heard = await services.speech.transcribe(decoded.samples, TranscribeOptions())
    assert "84" in heard.text or "eighty" in heard.text.lower()
    history = (await client.get("/api/history", params={"client_id": client_id})).json()
    item = history["items"][0]
    assert item["source"] == "voice" and item["text"] == body["text"] and "84" in item["reply"]
    # The row keeps the stages the answer showed (persisting is timed after the write).
    assert set(item["timings"]) == set(body["timings"]) - {"persist_ms"}


async def test_reply_as_url_is_scoped_to_its_user(
    client: httpx.AsyncClient, question_wav: bytes, client_id: str
) -> None:
    response = await client.post(
        "/api/voice",
        params={"audio": "url"},
        files={"file": ("q.wav", question_wav)},
        data={"client_id": client_id},
    )
    url = response.json()["audio"]["url"]
    mine = await client.get(url, params={"client_id": client_id})
    assert mine.status_code == 200 and mine.content[:4] == b"RIFF"
    theirs = await client.get(url, params={"client_id": client_id + "-other"})
    assert theirs.status_code == 404


async def test_reply_as_wav_body(
    client: httpx.AsyncClient, question_wav: bytes, client_id: str
) -> None:
    response = await client.post(
        "/api/voice",
        params={"audio": "wav"},
        files={"file": ("q.wav", question_wav)},
        data={"client_id": client_id},
    )
    assert response.headers["content-type"] == "audio/wav"
    assert "84" in unquote(response.headers["x-ballsy-reply"])
    with wave.open(io.BytesIO(response.content)) as wav:
        assert wav.getnframes() > 0


async def test_recorded_speech_goes_to_the_llm(
    client: httpx.AsyncClient, fixtures_dir: Path, client_id: str
) -> None:
    data = (fixtures_dir / "jfk.flac").read_bytes()
    response = await client.post(
        "/api/voice",
        params={"audio": "none"},
        files={"file": ("jfk.flac", data)},
        data={"client_id": client_id},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "country" in body["text"].lower() and body["handled_by"]["kind"] == "llm"
    assert body["reply"] and body["audio"] is None


def silent_wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(b"\0\0" * int(16000 * seconds))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "invalid_input"),
        (b"GIF89a not audio" * 50, "unsupported_media"),
        (silent_wav(2.0), "invalid_input"),
    ],
)
async def test_bad_voice_input(client: httpx.AsyncClient, data: bytes, code: str) -> None:
    response = await client.post("/api/voice", files={"file": ("x.wav", data)})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"] == code


async def test_missing_file_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/voice", data={"client_id": "x"})
    assert response.status_code == 422


def test_say_speaks_into_a_file_as_a_voice_reply_is_spoken(tmp_path: Path) -> None:
    """``ballsy say`` is the spoken turn's last stage (``assistant.spoken_turn.speak``)."""
    runner = CliRunner()
    env = {"BALLSY_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    out = tmp_path / "answer.wav"
    said = runner.invoke(cli, ["say", "Eighty four.", "--engine", "piper", "-o", str(out)], env=env)
    assert said.exit_code == 0, said.output
    assert decode_audio(out.read_bytes()).duration > 0.3
    nothing = runner.invoke(cli, ["say", "   ", "-o", str(tmp_path / "x.wav")], env=env)
    assert nothing.exit_code == 2 and "no text to speak" in nothing.output


async def test_reply_audio_is_deleted_once_expired(
    client: httpx.AsyncClient, app: object, question_wav: bytes, client_id: str
) -> None:
    """``?audio=url`` replies live VOICE_AUDIO_TTL (an hour): then a GET is a 404 and the
    file is gone; the job retention pass deletes the ones nobody asks for."""
    import os
    import time

    from ballsy.jobs.retention import purge_expired
    from ballsy.store.models import utcnow

    services = app.state.services  # type: ignore[attr-defined]
    ttl = services.settings.voice_audio_ttl
    assert ttl == 3600
    replies = services.settings.media_dir / "replies"
    stored = []
    for _ in range(2):
        response = await client.post(
            "/api/voice",
            params={"audio": "url"},
            files={"file": ("q.wav", question_wav)},
            data={"client_id": client_id},
        )
        url = response.json()["audio"]["url"]
        (path,) = replies.glob(f"*/{url.split('/')[-2]}.wav")
        stored.append((url, path))
    old = time.time() - ttl - 5
    for _, path in stored:
        os.utime(path, (old, old))
    asked, _ = stored[0]
    assert (await client.get(asked, params={"client_id": client_id})).status_code == 404
    assert not stored[0][1].exists()
    await purge_expired(services.jobs.context, now=utcnow())
    assert not stored[1][1].exists()
