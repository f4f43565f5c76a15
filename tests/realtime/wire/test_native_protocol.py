"""The native protocol's message parsing: text frames → typed messages → engine commands."""

from __future__ import annotations

import base64
import json

import pytest

from ballsy.errors import InvalidInput
from ballsy.realtime.session.commands import AppendAudio, CommitInput, Interrupt, SubmitText
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.wire.native_protocol import (
    AudioMessage,
    ConfigMessage,
    PingMessage,
    PongMessage,
    ProtocolError,
    TextMessage,
    command_for,
    configured,
    parse_message,
)
from ballsy.speech.vad import TurnConfig


def parse(body: object) -> object:
    return parse_message(json.dumps(body))


def test_audio_is_decoded_from_base64() -> None:
    pcm = b"\x01\x00\xff\x7f" * 10
    message = parse({"type": "audio", "data": base64.b64encode(pcm).decode()})
    assert isinstance(message, AudioMessage) and message.data == pcm
    assert command_for(message) == AppendAudio(pcm)


def test_each_message_type_becomes_its_command() -> None:
    text = parse({"type": "text", "text": "what is 2 plus 2", "extra": "ignored"})
    assert isinstance(text, TextMessage)
    assert command_for(text) == SubmitText("what is 2 plus 2")
    assert command_for(parse({"type": "commit"})) == CommitInput()  # type: ignore[arg-type]
    for kind in ("interrupt", "cancel"):
        assert command_for(parse({"type": kind})) == Interrupt()  # type: ignore[arg-type]


def test_ping_and_pong_are_the_protocols_own() -> None:
    ping = parse({"type": "ping", "ts": {"sent": 42}})
    assert isinstance(ping, PingMessage) and ping.ts == {"sent": 42}
    assert command_for(ping) is None
    pong = parse({"type": "pong"})
    assert isinstance(pong, PongMessage) and pong.ts is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "invalid_json"),
        ('["a list"]', "invalid_message"),
        ('"a string"', "invalid_message"),
        ('{"no": "type"}', "invalid_message"),
        ('{"type": 7}', "invalid_message"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "audio"}', "invalid_audio"),
        ('{"type": "audio", "data": 42}', "invalid_audio"),
        ('{"type": "audio", "data": "!!!not base64!!!"}', "invalid_audio"),
        ('{"type": "text"}', "invalid_message"),
        ('{"type": "text", "text": 5}', "invalid_message"),
        ('{"type": "config", "speed": 99}', "invalid_config"),
        ('{"type": "config", "sample_rate": "fast"}', "invalid_config"),
        ('{"type": "config", "audio_format": "mp3"}', "invalid_config"),
        ('{"type": "config", "vad": {"threshold": 2}}', "invalid_config"),
        ('{"type": "config", "vad": {"silence": 400}}', "invalid_config"),
        ('{"type": "config", "colour": "blue"}', "invalid_config"),
    ],
)
def test_bad_messages_get_their_error_code(text: str, code: str) -> None:
    error = parse_message(text)
    assert isinstance(error, ProtocolError), error
    assert error.code == code
    assert error.message


def test_error_messages_say_which_field() -> None:
    error = parse_message('{"type": "config", "vad": {"silence_ms": 10}}')
    assert isinstance(error, ProtocolError) and error.message.startswith("vad.silence_ms:")
    error = parse_message('{"type": "audio", "data": "***"}')
    assert isinstance(error, ProtocolError) and error.message == 'data: "data" is not valid base64'


def test_an_unknown_type_is_not_echoed_at_length() -> None:
    error = parse({"type": "x" * 500})
    assert isinstance(error, ProtocolError) and len(error.message) < 80


def test_config_changes_only_the_fields_given() -> None:
    vad = TurnConfig(threshold=0.6, silence_ms=500, prefix_padding_ms=200, min_speech_ms=100)
    options = SessionOptions(input_rate=16000, voice="joe", speed=1.1, tts_engine="hibari", vad=vad)
    config = parse({"type": "config", "sample_rate": 24000, "vad": {"silence_ms": 800}})
    assert isinstance(config, ConfigMessage)
    updated = configured(options, config)
    assert updated.input_rate == 24000 and updated.vad.silence_ms == 800
    assert (updated.voice, updated.speed, updated.tts_engine) == ("joe", 1.1, "hibari")
    assert (updated.vad.threshold, updated.vad.min_speech_ms) == (0.6, 100)
    voice = parse({"type": "config", "voice": "amy", "speed": 0.8})
    assert isinstance(voice, ConfigMessage)
    assert (configured(options, voice).voice, configured(options, voice).speed) == ("amy", 0.8)
    nothing = parse({"type": "config", "audio_format": "binary"})
    assert isinstance(nothing, ConfigMessage)
    assert configured(options, nothing) is options


def test_an_unsupported_rate_is_the_engines_invalid_input() -> None:
    config = parse({"type": "config", "sample_rate": 44100})
    assert isinstance(config, ConfigMessage)
    with pytest.raises(InvalidInput):
        configured(SessionOptions(), config)
