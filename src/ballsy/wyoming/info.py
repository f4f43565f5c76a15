"""``describe`` → ``info``: the speech-to-text, text-to-speech and handle programs.

One program of each kind, named ``ballsy``: ASR lists every Whisper model with its
languages, TTS every installed voice (hibari, Piper) with its languages and speakers,
and handle is the assistant itself (skills first, then the LLM, with memory). Every
artifact carries its maker, where it is from and the installed package's version.
"""

from __future__ import annotations

from wyoming.event import Event
from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
    TtsVoiceSpeaker,
)

from ballsy import __version__
from ballsy.wyoming.catalogue import Catalogue, Source

PROGRAM = "ballsy"
BALLSY = Source("Ballsy", "https://pypi.org/project/ballsy-voice/", __version__)
HANDLE_LANGUAGES = ["en"]
"""The built-in skills understand English; the LLM answers in what it is asked in."""


def _attribution(source: Source) -> Attribution:
    return Attribution(name=source.name, url=source.url)


def build_info(catalogue: Catalogue, *, streaming: bool, llm: str) -> Info:
    ballsy = _attribution(BALLSY)
    asr = AsrProgram(
        name=PROGRAM,
        attribution=ballsy,
        installed=True,
        description="Ballsy speech-to-text: Whisper on VAD-trimmed speech, streamed",
        version=__version__,
        models=[
            AsrModel(
                name=entry.name,
                attribution=_attribution(entry.source),
                installed=True,
                description=entry.description,
                version=entry.source.version,
                languages=list(entry.languages),
            )
            for entry in catalogue.asr
        ],
        supports_transcript_streaming=streaming,
        # Ballsy trims silence itself, but the end of a command is the client's call.
        requires_external_vad=True,
    )
    tts = TtsProgram(
        name=PROGRAM,
        attribution=ballsy,
        installed=True,
        description="Ballsy text-to-speech: hibari and Piper voices, sentence by sentence",
        version=__version__,
        voices=[
            TtsVoice(
                name=entry.name,
                attribution=_attribution(entry.source),
                installed=True,
                description=entry.description,
                version=entry.source.version,
                languages=list(entry.languages),
                speakers=[TtsVoiceSpeaker(name=s) for s in entry.speakers] or None,
            )
            for entry in catalogue.voices
        ],
        supports_synthesize_streaming=streaming,
    )
    handle = HandleProgram(
        name=PROGRAM,
        attribution=ballsy,
        installed=True,
        description="Ballsy assistant: built-in skills, then the LLM, with memory",
        version=__version__,
        models=[
            HandleModel(
                name="assistant",
                attribution=ballsy,
                installed=True,
                description=f"skills (math, time, timers, lists…), then the {llm} LLM",
                version=__version__,
                languages=HANDLE_LANGUAGES,
            )
        ],
        supports_handled_streaming=streaming,
        supports_home_control=False,
    )
    return Info(asr=[asr], tts=[tts], handle=[handle])


def info_event(catalogue: Catalogue, *, streaming: bool, llm: str) -> Event:
    return build_info(catalogue, streaming=streaming, llm=llm).event()
