"""The OpenAI Realtime session object: what ``session.update`` may change, and how
``session.created|updated`` show it, in the GA and the beta shapes.

The client talks about its session in OpenAI's words (voices, audio formats,
``turn_detection``); :class:`RealtimeSessionConfig` keeps those words, and
:meth:`RealtimeSessionConfig.engine_options` turns them into the engine's
:class:`~ballsy.realtime.session.options.SessionOptions`. The ``session`` body of a
``session.update`` is validated as :class:`SessionUpdate` by the protocol union
(:mod:`~ballsy.realtime.wire.openai.protocol`); the checks that need the server's
settings and voices happen in :meth:`RealtimeSessionConfig.updated`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ballsy.config import Settings
from ballsy.llm.base import ToolSpec
from ballsy.names import OPENAI_VOICES
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.turns import eagerness_waits
from ballsy.speech.vad import TurnConfig

Dialect = Literal["ga", "beta"]
RATE = 24_000
MAX_INSTRUCTIONS = 16_000
"""Longest ``instructions`` a client may set (``session.update`` and ``response.create``)."""
MAX_TOOLS = 128
MAX_TOOL_DESCRIPTION = 4_000
FUNCTION_NAME = r"^[A-Za-z0-9_-]{1,64}$"
"""What a function may be called (OpenAI's rule for function names)."""
ToolMode = Literal["auto", "none", "required"]
_TOOL_MODES: dict[str, ToolMode] = {"auto": "auto", "none": "none", "required": "required"}


class SessionConfigError(Exception):
    """A ``session.update`` the server refuses; ``param`` names the offending field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TurnDetectionUpdate(_Model):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    prefix_padding_ms: int | None = Field(default=None, ge=0, le=2000)
    silence_duration_ms: int | None = Field(default=None, ge=100, le=5000)
    create_response: bool | None = None
    interrupt_response: bool | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None
    """semantic_vad: how long an unfinished utterance may pause (8 s / 4 s / 2 s)."""


class TranscriptionUpdate(_Model):
    model: str | None = Field(default=None, max_length=128)
    language: str | None = Field(default=None, max_length=16)
    prompt: str | None = Field(default=None, max_length=4000)


class AudioFormatUpdate(_Model):
    type: str = Field(max_length=32)
    rate: int | None = None


class VoiceId(_Model):
    id: str = Field(max_length=64)


class AudioInputUpdate(_Model):
    format: AudioFormatUpdate | None = None
    transcription: TranscriptionUpdate | None = None
    turn_detection: TurnDetectionUpdate | None = None


class AudioOutputUpdate(_Model):
    format: AudioFormatUpdate | None = None
    voice: str | VoiceId | None = Field(default=None)
    speed: float | None = Field(default=None, ge=0.25, le=4.0)


class AudioUpdate(_Model):
    input: AudioInputUpdate | None = None
    output: AudioOutputUpdate | None = None


class FunctionToolUpdate(_Model):
    """One of ``session.tools``: a function of the client's that the model may call."""

    type: str = Field(default="function", max_length=32)
    name: str = Field(pattern=FUNCTION_NAME)
    description: str = Field(default="", max_length=MAX_TOOL_DESCRIPTION)
    parameters: dict[str, Any] | None = None

    @field_validator("type")
    @classmethod
    def _function_only(cls, kind: str) -> str:
        if kind != "function":
            raise PydanticCustomError("invalid_value", "only function tools are supported")
        return kind

    @field_validator("parameters")
    @classmethod
    def _object_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        if schema is not None and schema.get("type", "object") != "object":
            message = "parameters must be a JSON Schema object ({'type': 'object', ...})"
            raise PydanticCustomError("invalid_value", message)
        return schema

    def spec(self) -> ToolSpec:
        if self.parameters is None:
            return ToolSpec(self.name, self.description)
        return ToolSpec(self.name, self.description, self.parameters)


class ToolChoiceUpdate(_Model):
    type: Literal["function"]
    name: str = Field(pattern=FUNCTION_NAME)


class SessionUpdate(_Model):
    """Both shapes' fields; unknown ones (temperature, tracing…) are ignored."""

    type: Literal["realtime", "transcription"] | None = None
    instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS)
    voice: str | None = Field(default=None, max_length=64)
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    modalities: list[Literal["text", "audio"]] | None = None
    output_modalities: list[Literal["text", "audio"]] | None = None
    input_audio_format: str | None = Field(default=None, max_length=32)
    output_audio_format: str | None = Field(default=None, max_length=32)
    input_audio_transcription: TranscriptionUpdate | None = None
    turn_detection: TurnDetectionUpdate | None = None
    audio: AudioUpdate | None = None
    tools: list[FunctionToolUpdate] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Annotated[str, Field(max_length=64)] | ToolChoiceUpdate | None = None
    """``auto``, ``none``, ``required``, a function (GA: ``{"type": "function", "name"}``;
    beta: its name)."""


@dataclass(frozen=True, slots=True)
class TurnDetection:
    threshold: float
    prefix_padding_ms: int
    silence_duration_ms: int
    create_response: bool = True
    interrupt_response: bool = True
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    eagerness: Literal["low", "medium", "high", "auto"] = "auto"

    def as_json(self) -> dict[str, Any]:
        common = {
            "type": self.type,
            "create_response": self.create_response,
            "interrupt_response": self.interrupt_response,
        }
        if self.type == "semantic_vad":
            return common | {"eagerness": self.eagerness}
        return common | {
            "threshold": self.threshold,
            "prefix_padding_ms": self.prefix_padding_ms,
            "silence_duration_ms": self.silence_duration_ms,
        }


@dataclass(frozen=True, slots=True)
class RealtimeSessionConfig:
    model: str
    voice: str
    transcription: dict[str, Any] | None
    turn_detection: TurnDetection | None
    """None: manual turn-taking (the client commits its audio)."""
    instructions: str | None = None
    speed: float = 1.0
    audio_output: bool = True
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolMode = "auto"
    tool_function: str | None = None
    """The one function ``tool_choice`` names (then only it is offered)."""
    id: str = field(default_factory=lambda: f"sess_{secrets.token_hex(12)}")

    @property
    def offered_tools(self) -> tuple[ToolSpec, ...]:
        """What the model is offered: none with ``tool_choice: none``, the named one
        with a function choice. ``required`` offers them all (as ``auto`` does)."""
        if self.tool_choice == "none":
            return ()
        if self.tool_function is not None:
            return tuple(tool for tool in self.tools if tool.name == self.tool_function)
        return self.tools

    @classmethod
    def default(cls, settings: Settings, *, model: str, voice: str) -> RealtimeSessionConfig:
        return cls(
            model=model,
            voice=voice,
            transcription={"model": settings.stt_model},
            turn_detection=_turn_detection(TurnDetectionUpdate(), settings),
        )

    def updated(
        self, update: SessionUpdate, settings: Settings, voices: Sequence[str]
    ) -> RealtimeSessionConfig:
        """This config with a validated ``session.update`` applied."""
        if update.type == "transcription":
            raise SessionConfigError("transcription sessions are not supported", "session.type")
        _check_formats(update)
        config = self
        audio = update.audio or AudioUpdate()
        audio_in = audio.input or AudioInputUpdate()
        audio_out = audio.output or AudioOutputUpdate()
        if update.instructions is not None:
            config = replace(config, instructions=update.instructions or None)
        voice = audio_out.voice if audio_out.voice is not None else update.voice
        if voice is not None:
            config = replace(config, voice=_voice(voice, voices))
        speed = audio_out.speed if audio_out.speed is not None else update.speed
        if speed is not None:
            config = replace(config, speed=speed)
        modalities = update.output_modalities or update.modalities
        if modalities:
            config = replace(config, audio_output="audio" in modalities)
        given = update.model_fields_set
        if "input_audio_transcription" in given:
            config = replace(config, transcription=_transcription(update.input_audio_transcription))
        if "transcription" in audio_in.model_fields_set:
            config = replace(config, transcription=_transcription(audio_in.transcription))
        if "turn_detection" in given or "turn_detection" in audio_in.model_fields_set:
            detection = audio_in.turn_detection or update.turn_detection
            config = replace(
                config,
                turn_detection=_turn_detection(detection, settings) if detection else None,
            )
        return _tools_updated(config, update)

    def engine_options(self, settings: Settings, ballsy_voices: Sequence[str]) -> SessionOptions:
        server_vad = self.turn_detection is not None
        detection = self.turn_detection or _turn_detection(TurnDetectionUpdate(), settings)
        return SessionOptions(
            input_rate=RATE,
            output_rate=RATE,
            voice=self.voice if self.voice in ballsy_voices else None,
            speed=self.speed,
            server_vad=server_vad,
            auto_respond=server_vad and detection.create_response,
            barge_in=server_vad and detection.interrupt_response,
            instructions=self.instructions,
            partial_transcripts=False,
            speak=self.audio_output,
            vad=TurnConfig(
                threshold=detection.threshold,
                silence_ms=detection.silence_duration_ms,
                prefix_padding_ms=detection.prefix_padding_ms,
                min_speech_ms=settings.realtime_min_speech_ms,
            ),
            turn_mode="semantic" if detection.type == "semantic_vad" else "fixed",
            candidate_ms=settings.realtime_candidate_pause_ms,
            waits=eagerness_waits(detection.eagerness, settings.realtime_unsure_pause_ms),
            speculative_reply=settings.realtime_speculative_replies,
            client_tools=self.offered_tools,
        )

    def as_json(self, dialect: Dialect, settings: Settings) -> dict[str, Any]:
        """The ``session`` of ``session.created`` / ``session.updated``."""
        detection = self.turn_detection.as_json() if self.turn_detection else None
        common = {"id": self.id, "object": "realtime.session", "model": self.model}
        instructions = self.instructions or ""
        if dialect == "beta":
            return common | {
                "modalities": ["text", "audio"] if self.audio_output else ["text"],
                "instructions": instructions,
                "voice": self.voice,
                "speed": self.speed,
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "input_audio_transcription": self.transcription,
                "turn_detection": detection,
                "temperature": settings.llm_temperature,
                "max_response_output_tokens": settings.llm_max_tokens,
                "tools": [_tool_json(tool) for tool in self.tools],
                "tool_choice": self.tool_function or self.tool_choice,
            }
        pcm = {"type": "audio/pcm", "rate": RATE}
        return common | {
            "type": "realtime",
            "output_modalities": ["audio"] if self.audio_output else ["text"],
            "instructions": instructions,
            "max_output_tokens": settings.llm_max_tokens,
            "audio": {
                "input": {
                    "format": pcm,
                    "transcription": self.transcription,
                    "turn_detection": detection,
                },
                "output": {"format": pcm, "voice": self.voice, "speed": self.speed},
            },
            "tools": [_tool_json(tool) for tool in self.tools],
            "tool_choice": (
                {"type": "function", "name": self.tool_function}
                if self.tool_function
                else self.tool_choice
            ),
        }


def _tools_updated(config: RealtimeSessionConfig, update: SessionUpdate) -> RealtimeSessionConfig:
    """``session.tools`` and ``tool_choice`` applied; a choice must name a known tool."""
    if update.tools is not None:
        names = [tool.name for tool in update.tools]
        if len(set(names)) != len(names):
            twice = next(name for name in names if names.count(name) > 1)
            raise SessionConfigError(f"tool {twice!r} is defined twice", "session.tools")
        config = replace(config, tools=tuple(tool.spec() for tool in update.tools))
    choice = update.tool_choice
    if isinstance(choice, ToolChoiceUpdate):
        config = replace(config, tool_choice="auto", tool_function=choice.name)
    elif choice is not None and (mode := _TOOL_MODES.get(choice)) is not None:
        config = replace(config, tool_choice=mode, tool_function=None)
    elif choice is not None:  # the beta names a function by its name alone
        config = replace(config, tool_choice="auto", tool_function=choice)
    function = config.tool_function
    if function is not None and function not in {tool.name for tool in config.tools}:
        message = f"tool_choice names {function[:64]!r}, which is not one of session.tools"
        raise SessionConfigError(message, "session.tool_choice")
    return config


def _tool_json(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": dict(tool.parameters),
    }


def _check_formats(update: SessionUpdate) -> None:
    for name in ("input_audio_format", "output_audio_format"):
        value = getattr(update, name)
        if value is not None and value != "pcm16":
            raise SessionConfigError(
                f"{name} {value!r} is not supported; use 'pcm16' (24 kHz mono)",
                f"session.{name}",
            )
    audio = update.audio or AudioUpdate()
    for side, part in (("input", audio.input), ("output", audio.output)):
        audio_format = part.format if part is not None else None
        if audio_format is None:
            continue
        if audio_format.type != "audio/pcm" or audio_format.rate not in (None, RATE):
            shown = f"{audio_format.type} at {audio_format.rate or 'default'} Hz"
            raise SessionConfigError(
                f"audio format {shown} is not supported; use audio/pcm at {RATE} Hz",
                f"session.audio.{side}.format",
            )


def _voice(voice: str | VoiceId, voices: Sequence[str]) -> str:
    """A Ballsy voice chooses that voice; an OpenAI name (clients send them by habit)
    is accepted and spoken with Ballsy's default voice."""
    name = voice.id if isinstance(voice, VoiceId) else voice
    if name in voices or name in OPENAI_VOICES:
        return name
    choices = ", ".join(sorted(voices))
    raise SessionConfigError(f"unknown voice {name!r}; Ballsy has {choices}", "session.voice")


def _transcription(update: TranscriptionUpdate | None) -> dict[str, Any] | None:
    if update is None:
        return None
    return update.model_dump(exclude_none=True)


def _turn_detection(update: TurnDetectionUpdate, settings: Settings) -> TurnDetection:
    return TurnDetection(
        threshold=update.threshold or settings.realtime_vad_threshold,
        prefix_padding_ms=(
            update.prefix_padding_ms
            if update.prefix_padding_ms is not None
            else settings.realtime_prefix_padding_ms
        ),
        silence_duration_ms=update.silence_duration_ms or settings.realtime_silence_ms,
        create_response=update.create_response is not False,
        interrupt_response=update.interrupt_response is not False,
        type=update.type,
        eagerness=update.eagerness or "auto",
    )
