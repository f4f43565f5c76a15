"""Resolving ``transcribe`` and ``synthesize`` requests against what is installed."""

from __future__ import annotations

from pathlib import Path

import pytest
from wyoming.tts import SynthesizeVoice

from ballsy.errors import UnknownModel
from ballsy.speech.service import SpeechService
from ballsy.wyoming.catalogue import Catalogue, primary_language
from ballsy.wyoming.info import build_info
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    settings = make_settings(Path(tmp_path_factory.mktemp("catalogue")))
    return Catalogue.from_speech(SpeechService(settings))


def test_languages_are_reduced_to_their_primary_subtag() -> None:
    assert primary_language("en-US") == primary_language("en_us") == "en"
    assert primary_language(None) is None and primary_language("") is None


def test_the_model_follows_the_language(catalogue: Catalogue) -> None:
    assert catalogue.model_for(None, None) == ("tiny.en", None)
    assert catalogue.model_for(None, "en-GB") == ("tiny.en", "en")
    assert catalogue.model_for(None, "fr") == ("base", "fr")
    assert catalogue.model_for("base", "en") == ("base", "en")
    for name, language in (("tiny.en", "fr"), ("medium", None), (None, "tlh")):
        with pytest.raises(UnknownModel):
            catalogue.model_for(name, language)


def test_voices_by_name_engine_language_or_preference(catalogue: Catalogue) -> None:
    assert catalogue.voice_for(None, None).engine == "hibari"  # the configured engine
    assert catalogue.voice_for(None, "joe").voice == "joe"  # the user's setting
    assert catalogue.voice_for(None, "gone").engine == "hibari"  # a stale setting
    assert catalogue.voice_for(SynthesizeVoice(name="joe"), "heart").voice == "joe"
    assert catalogue.voice_for(SynthesizeVoice(name="piper"), None).engine == "piper"
    assert catalogue.voice_for(SynthesizeVoice(language="en_US"), None).languages == ("en_US",)
    assert catalogue.voice_for(SynthesizeVoice(name="joe", speaker="any"), None).voice == "joe"
    with pytest.raises(UnknownModel):
        catalogue.voice_for(SynthesizeVoice(name="nobody"), None)
    with pytest.raises(UnknownModel):
        catalogue.voice_for(SynthesizeVoice(language="de"), None)


def test_info_without_streaming(catalogue: Catalogue) -> None:
    info = build_info(catalogue, streaming=False, llm="local")
    assert not info.asr[0].supports_transcript_streaming
    assert not info.tts[0].supports_synthesize_streaming
    assert not info.handle[0].supports_handled_streaming
    assert "local" in (info.handle[0].models[0].description or "")
