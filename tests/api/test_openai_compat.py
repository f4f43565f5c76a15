"""The OpenAI-compatible surface, driven by the official ``openai`` SDK over real HTTP."""

from __future__ import annotations

import io
import itertools
import json
import wave
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
import srt
import webvtt

from ballsy.speech.audio import decode_audio
from tests.speech.conftest import word_error_rate

JFK = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


@pytest.fixture(scope="module")
def sdk(live_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)


@pytest.fixture(scope="module")
def jfk(fixtures_dir: Path) -> bytes:
    return (fixtures_dir / "jfk.flac").read_bytes()


def transcribe(sdk: openai.OpenAI, data: bytes, name: str = "jfk.flac", **kwargs: Any) -> Any:
    return sdk.audio.transcriptions.create(model="whisper-1", file=(name, data), **kwargs)


def test_json_format(sdk: openai.OpenAI, jfk: bytes) -> None:
    result = transcribe(sdk, jfk)
    assert word_error_rate(JFK, result.text) <= 0.10


def test_text_format(sdk: openai.OpenAI, jfk: bytes) -> None:
    text = transcribe(sdk, jfk, response_format="text")
    assert isinstance(text, str) and word_error_rate(JFK, text) <= 0.10


def test_srt_format_parses(sdk: openai.OpenAI, jfk: bytes) -> None:
    body = transcribe(sdk, jfk, response_format="srt")
    cues = list(srt.parse(body))
    assert cues and cues[0].index == 1
    assert all(c.start < c.end for c in cues)
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert cues[-1].end.total_seconds() <= 11.1
    assert word_error_rate(JFK, " ".join(c.content for c in cues)) <= 0.10


def test_vtt_format_parses(sdk: openai.OpenAI, jfk: bytes) -> None:
    body = transcribe(sdk, jfk, response_format="vtt")
    assert body.startswith("WEBVTT")
    captions = list(webvtt.from_buffer(io.StringIO(body)))
    assert captions and all(c.start_in_seconds < c.end_in_seconds for c in captions)
    assert word_error_rate(JFK, " ".join(c.text for c in captions)) <= 0.10


def test_verbose_json_with_words_and_segments(sdk: openai.OpenAI, jfk: bytes) -> None:
    result = transcribe(
        sdk, jfk, response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    assert result.language == "en" and 10.5 < result.duration < 11.5
    assert word_error_rate(JFK, result.text) <= 0.10
    assert result.segments and result.words
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= result.duration + 0.1
    assert result.words[0].word.lower().strip(",") == "and"


def test_streaming_transcription(sdk: openai.OpenAI, jfk: bytes) -> None:
    events = list(transcribe(sdk, jfk, stream=True))
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    done = [e for e in events if e.type == "transcript.text.done"]
    assert len(deltas) >= 1 and len(done) == 1
    assert "".join(d.delta for d in deltas).strip() == done[0].text
    assert word_error_rate(JFK, done[0].text) <= 0.10


def test_translation_of_french(sdk: openai.OpenAI, fixtures_dir: Path) -> None:
    data = (fixtures_dir / "french.aiff").read_bytes()
    result = sdk.audio.translations.create(model="whisper-1", file=("french.aiff", data))
    words = result.text.lower()
    assert words and "dictée" not in words
    assert any(w in words for w in ("dictation", "number", "one", "1", "dictate"))


@pytest.mark.parametrize("fmt", ["wav", "mp3", "opus", "flac", "aac"])
def test_speech_round_trip(sdk: openai.OpenAI, fmt: str, tmp_path: Path) -> None:
    sentence = "The quick brown fox jumps over the lazy dog."
    response = sdk.audio.speech.create(
        model="tts-1",
        voice="alloy",
        input=sentence,
        response_format=fmt,  # type: ignore[arg-type]
    )
    audio = decode_audio(response.content)
    assert 1.0 < audio.duration < 8.0
    back = transcribe(sdk, response.content, name=f"speech.{fmt}")
    assert word_error_rate(sentence, back.text) <= 0.2


def test_speech_pcm_is_raw_24k(sdk: openai.OpenAI) -> None:
    response = sdk.audio.speech.create(
        model="hibari", voice="alloy", input="Hello there.", response_format="pcm"
    )
    samples = np.frombuffer(response.content, dtype=np.int16)
    assert 0.3 < len(samples) / 24000 < 3.0
    assert np.abs(samples).max() > 1000


def test_speech_streams_sentence_by_sentence(sdk: openai.OpenAI) -> None:
    text = "First sentence here. Second one follows. And a third to finish."
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text, response_format="wav"
    ) as response:
        chunks = [c for c in response.iter_bytes() if c]
    body = b"".join(chunks)
    assert body[:4] == b"RIFF" and len(chunks) >= 2
    assert decode_audio(body).duration > 2.0


def test_speech_speed_and_piper(sdk: openai.OpenAI) -> None:
    text = "Speed changes how long this sentence takes."
    normal = sdk.audio.speech.create(
        model="piper", voice="alloy", input=text, response_format="wav"
    )
    fast = sdk.audio.speech.create(
        model="piper", voice="alloy", input=text, response_format="wav", speed=2.0
    )
    assert decode_audio(fast.content).duration < decode_audio(normal.content).duration * 0.75
    with wave.open(io.BytesIO(normal.content)) as wav:
        assert wav.getframerate() == 22050


def test_chat_completion(sdk: openai.OpenAI) -> None:
    result = sdk.chat.completions.create(
        model="local",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        max_tokens=30,
        temperature=0,
    )
    assert result.choices[0].message.content
    assert "paris" in result.choices[0].message.content.lower()
    assert result.usage is not None and result.usage.completion_tokens > 0


def test_chat_completion_stream(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "Say hello in one sentence."}],
        max_tokens=30,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert chunks[-1].usage is not None


def test_models_lists_real_engines(sdk: openai.OpenAI) -> None:
    ids = {m.id for m in sdk.models.list()}
    assert {"local", "tiny.en", "base", "hibari", "piper", "whisper-1", "tts-1"} <= ids


# --- bad input: clear 4xx in OpenAI's error shape, never a 500 or a hang -------------


def silence_wav(seconds: float, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\0\0" * int(seconds * rate))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty.wav", b""),
        ("zero.wav", silence_wav(0)),
        ("noise.wav", b"this is not audio at all" * 100),
        ("random.mp3", bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8))),
    ],
)
def test_bad_audio_is_a_4xx(sdk: openai.OpenAI, name: str, data: bytes) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        transcribe(sdk, data, name=name)
    assert 400 <= caught.value.status_code < 500
    body = caught.value.response.json()
    assert body["error"]["message"] and body["error"]["type"] == "invalid_request_error"


def test_truncated_flac_is_a_clear_4xx(sdk: openai.OpenAI, jfk: bytes) -> None:
    # 2 kB of a FLAC is the header and no whole audio frame: nothing to transcribe.
    with pytest.raises(openai.APIStatusError) as caught:
        transcribe(sdk, jfk[:2000], name="cut.flac")
    assert 400 <= caught.value.status_code < 500


def test_truncated_flac_keeps_what_decodes(sdk: openai.OpenAI, jfk: bytes) -> None:
    # Cut mid-stream: the decodable first part is transcribed, no error, no hang.
    result = transcribe(sdk, jfk[: len(jfk) // 2], name="half.flac")
    assert "fellow americans" in result.text.lower()


def test_silence_gives_an_empty_transcript(sdk: openai.OpenAI) -> None:
    result = transcribe(sdk, silence_wav(3.0), name="silence.wav")
    assert result.text.strip() == ""


def test_too_large_upload_is_413(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        transcribe(sdk, silence_wav(70.0), name="big.wav")  # ~2.2 MB > the 2 MB cap
    assert caught.value.status_code == 413


def test_too_long_audio_is_413(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        transcribe(sdk, silence_wav(61.0, rate=8000), name="long.wav")  # 61 s > 60 s cap
    assert caught.value.status_code == 413
    assert caught.value.response.json()["error"]["code"] == "audio_too_long"


@pytest.mark.parametrize(
    "call",
    [
        lambda s, d: s.audio.transcriptions.create(model="whisper-9", file=("a.flac", d)),
        lambda s, d: s.audio.transcriptions.create(
            model="tiny.en", file=("a.flac", d), language="fr"
        ),
        lambda s, d: s.audio.translations.create(model="tiny.en", file=("a.flac", d)),
        lambda s, d: s.audio.speech.create(model="tts-9", voice="alloy", input="hi"),
        lambda s, d: s.audio.speech.create(model="tts-1", voice="darth", input="hi"),
        lambda s, d: s.audio.speech.create(model="tts-1", voice="alloy", input="x" * 4097),
        lambda s, d: s.audio.speech.create(model="tts-1", voice="alloy", input="hi", speed=9),
        lambda s, d: s.audio.speech.create(model="tts-1", voice="alloy", input="..."),
        lambda s, d: s.chat.completions.create(
            model="gpt-9000", messages=[{"role": "user", "content": "hi"}]
        ),
        lambda s, d: s.chat.completions.create(model="local", messages=[]),
    ],
)
def test_bad_requests_are_4xx(sdk: openai.OpenAI, jfk: bytes, call: Any) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        call(sdk, jfk)
    assert 400 <= caught.value.status_code < 500, caught.value.response.text
    assert json.loads(caught.value.response.text)["error"]["message"]
