"""The OpenAI Realtime session object: updates, refusals, engine options, both shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai.types.beta.realtime import SessionUpdatedEvent as BetaSessionUpdated
from openai.types.realtime import SessionUpdatedEvent as GASessionUpdated

from ballsy.config import Settings
from ballsy.names import OPENAI_VOICES
from ballsy.realtime.wire.openai.protocol import ClientEventError, parse_client_event
from ballsy.realtime.wire.openai.session_config import (
    RealtimeSessionConfig,
    SessionConfigError,
    SessionUpdate,
)
from tests.conftest import make_settings

VOICES = ["heart", "bella"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def config(settings: Settings) -> RealtimeSessionConfig:
    return RealtimeSessionConfig.default(settings, model="gpt-realtime", voice="heart")


def updated(
    session: RealtimeSessionConfig, body: dict[str, object], settings: Settings
) -> RealtimeSessionConfig:
    return session.updated(SessionUpdate.model_validate(body), settings, VOICES)


def test_default_is_server_vad_with_ballsy_defaults(settings: Settings) -> None:
    options = config(settings).engine_options(settings, VOICES)
    assert options.server_vad and options.auto_respond and options.speak and options.barge_in
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
    manual = updated(config(settings), {"turn_detection": None}, settings)
    assert manual.turn_detection is None
    options = manual.engine_options(settings, VOICES)
    assert not options.server_vad and not options.auto_respond and not options.barge_in
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
    quiet = updated(manual, ga, settings)
    options = quiet.engine_options(settings, VOICES)
    assert options.server_vad and not options.auto_respond and options.vad.silence_ms == 700


def test_interrupt_response_is_the_engine_s_barge_in(settings: Settings) -> None:
    vad = {"type": "server_vad", "interrupt_response": False}
    polite = updated(config(settings), {"turn_detection": vad}, settings)
    assert not polite.engine_options(settings, VOICES).barge_in
    assert polite.as_json("beta", settings)["turn_detection"]["interrupt_response"] is False


def test_voices_modalities_and_transcription(settings: Settings) -> None:
    ballsy = updated(config(settings), {"voice": "bella"}, settings)
    assert ballsy.engine_options(settings, VOICES).voice == "bella"
    openai_voice = updated(ballsy, {"audio": {"output": {"voice": "marin"}}}, settings)
    assert openai_voice.voice == "marin"
    assert openai_voice.engine_options(settings, VOICES).voice is None  # Ballsy's default
    text_only = updated(openai_voice, {"output_modalities": ["text"]}, settings)
    assert not text_only.engine_options(settings, VOICES).speak
    silent = updated(text_only, {"input_audio_transcription": None}, settings)
    assert silent.transcription is None and text_only.transcription is not None


@pytest.mark.parametrize("voice", sorted(OPENAI_VOICES))
def test_every_openai_voice_is_accepted(settings: Settings, voice: str) -> None:
    """The same names ``/v1/audio/speech`` accepts (ballsy.names)."""
    assert updated(config(settings), {"voice": voice}, settings).voice == voice


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
        ({"type": "transcription"}, "session.type"),
    ],
)
def test_refused_updates_name_the_field(
    settings: Settings, update: dict[str, object], param: str
) -> None:
    with pytest.raises(SessionConfigError) as refused:
        updated(config(settings), update, settings)
    assert refused.value.param == param


@pytest.mark.parametrize(
    ("update", "param"),
    [
        (
            {"turn_detection": {"type": "server_vad", "threshold": 2}},
            "session.turn_detection.threshold",
        ),
        ({"instructions": "x" * 16_001}, "session.instructions"),
        ({"speed": 9}, "session.speed"),
    ],
)
def test_malformed_updates_are_refused_by_the_protocol(
    update: dict[str, object], param: str
) -> None:
    with pytest.raises(ClientEventError) as refused:
        parse_client_event(json.dumps({"type": "session.update", "session": update}))
    assert (refused.value.code, refused.value.param) == ("invalid_value", param)
