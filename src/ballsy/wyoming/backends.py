"""What the Wyoming server uses of the process: a small record, built once.

The app's lifespan builds it (:func:`wyoming_backends`, from the services it needs)
and hands it to :func:`~ballsy.wyoming.server.start_wyoming`; connections get this
record, never the service container: the engine's ports on the shared models, the
speech service for synthesis, the catalogue and the configured user's voice settings.
Tests build one with fakes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wyoming.event import Event

from ballsy.assistant.preferences import PreferencesService
from ballsy.assistant.service import Assistant
from ballsy.config import Settings
from ballsy.realtime.session.adapters import session_ports
from ballsy.realtime.session.clock import Clock, SystemClock
from ballsy.realtime.session.observer import observe_session_event
from ballsy.realtime.session.ports import SessionPorts
from ballsy.speech.service import SpeechService
from ballsy.speech.vad import TurnConfig
from ballsy.state.ratelimit import RateLimits
from ballsy.wyoming.catalogue import Catalogue
from ballsy.wyoming.info import info_event

UserVoice = Callable[[], Awaitable[tuple[str | None, float]]]
"""The configured user's (voice, speed) settings, read per request."""


@dataclass(frozen=True, slots=True)
class WyomingBackends:
    user: str
    ports: SessionPorts
    speech: SpeechService
    catalogue: Catalogue
    info: Event
    vad: TurnConfig
    user_voice: UserVoice
    streaming: bool
    clock: Clock = field(default_factory=SystemClock)


def _user_voice(preferences: PreferencesService, user: str) -> UserVoice:
    async def voice() -> tuple[str | None, float]:
        chosen = await preferences.get(user)
        return chosen.voice, chosen.speed

    return voice


def wyoming_backends(
    settings: Settings,
    *,
    speech: SpeechService,
    assistant: Assistant,
    limits: RateLimits,
    preferences: PreferencesService,
) -> WyomingBackends:
    """The record on the process's shared speech models, assistant, limits and
    preferences."""
    ports = session_ports(
        speech=speech,
        assistant=assistant,
        limits=limits,
        observe=observe_session_event,
        max_command_length=settings.max_command_length,
        playout_lead_s=settings.realtime_playout_lead,
    )
    catalogue = Catalogue.from_speech(speech)
    return WyomingBackends(
        user=settings.wyoming_user,
        ports=ports,
        speech=speech,
        catalogue=catalogue,
        info=info_event(catalogue, streaming=settings.wyoming_streaming, llm=settings.llm_provider),
        vad=TurnConfig(
            threshold=settings.realtime_vad_threshold,
            silence_ms=settings.realtime_silence_ms,
            prefix_padding_ms=settings.realtime_prefix_padding_ms,
            min_speech_ms=settings.realtime_min_speech_ms,
        ),
        user_voice=_user_voice(preferences, settings.wyoming_user),
        streaming=settings.wyoming_streaming,
    )
