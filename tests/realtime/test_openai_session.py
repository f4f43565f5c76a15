"""The OpenAI Realtime session object: updates, refusals, engine options, both shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai.types.beta.realtime import SessionUpdatedEvent as BetaSessionUpdated
from openai.types.realtime import SessionUpdatedEvent as GASessionUpdated

from ballsy.config import Settings
from ballsy.realtime.openai_session import RealtimeSessionConfig, SessionConfigError
from tests.conftest import make_settings

VOICES = ["heart", "bella"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def config(settings: Settings) -> RealtimeSessionConfig:
    return RealtimeSessionConfig.default(settings, model="gpt-realtime", voice="heart")


def test_default_is_server_vad_with_ballsy_defaults(settings: Settings) -> None:
    options = config(settings).engine_options(settings, VOICES)
    assert options.server_vad and options.auto_respond and options.speak
    assert (options.input_rate, options.output_rate) == (24000, 24000)
    assert options.vad.silence_ms == settings.realtime_silence_ms
    assert not options.partial_transcripts


def test_both_shapes_validate_against_the_sdk(settings: Settings) -> None:
    session = config(settings)
    GASessionUpdated.model_validate(
        {"type": "session.updated", "event_id": "e", "session": session.as_json("ga", settings)}
    )
    beta = session.as_json("beta", settings) | {"model": "gpt-4o-realtime-preview"}
    BetaSessionUpdated.model_validate({"type": "session.updated", "event_id": "e", "session": beta})


def test_manual_turn_taking_and_no_auto_response(settings: Settings) -> None:
    manual = config(settings).updated({"turn_detection": None}, settings, VOICES)
    assert manual.turn_detection is None
    options = manual.engine_options(settings, VOICES)
    assert not options.server_vad and not options.auto_respond
    ga = {
        "type": "realtime",
        "audio": {
            "input": {
                "turn_detection": {
                    "type": "server_vad",
                    "create_response": False,
                    "silence_duration_ms": 700,
                }
            }
        },
    }
    quiet = manual.updated(ga, settings, VOICES)
    options = quiet.engine_options(settings, VOICES)
    assert options.server_vad and not options.auto_respond and options.vad.silence_ms == 700


def test_voices_modalities_and_transcription(settings: Settings) -> None:
    ballsy = config(settings).updated({"voice": "bella"}, settings, VOICES)
    assert ballsy.engine_options(settings, VOICES).voice == "bella"
    openai_voice = ballsy.updated({"audio": {"output": {"voice": "marin"}}}, settings, VOICES)
    assert openai_voice.voice == "marin"
    assert openai_voice.engine_options(settings, VOICES).voice is None  # Ballsy's default
    text_only = openai_voice.updated({"output_modalities": ["text"]}, settings, VOICES)
    assert not text_only.engine_options(settings, VOICES).speak
    silent = text_only.updated({"input_audio_transcription": None}, settings, VOICES)
    assert silent.transcription is None and text_only.transcription is not None


@pytest.mark.parametrize(
    ("update", "param"),
    [
        ({"input_audio_format": "g711_ulaw"}, "session.input_audio_format"),
        ({"output_audio_format": "g711_alaw"}, "session.output_audio_format"),
        (
            {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
            "session.audio.input.format",
        ),
        ({"audio": {"output": {"format": {"type": "audio/pcmu"}}}}, "session.audio.output.format"),
        ({"voice": "nobody"}, "session.voice"),
        (
            {"turn_detection": {"type": "server_vad", "threshold": 2}},
            "session.turn_detection.threshold",
        ),
        ({"type": "transcription"}, "session.type"),
    ],
)
def test_refused_updates_name_the_field(
    settings: Settings, update: dict[str, object], param: str
) -> None:
    with pytest.raises(SessionConfigError) as refused:
        config(settings).updated(update, settings, VOICES)
    assert refused.value.param == param
