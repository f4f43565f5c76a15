"""``describe`` → ``info``: every model, voice and the assistant, with their provenance."""

from __future__ import annotations

from wyoming.info import Describe, Info

from tests.wyoming.conftest import BallsyProcess, read_until


async def test_describe_lists_models_voices_and_the_assistant(server: BallsyProcess) -> None:
    async with server.client() as client:
        await client.write_event(Describe().event())
        (event,) = await read_until(client, "info")
    info = Info.from_event(event)

    (asr,) = info.asr
    assert asr.name == "ballsy" and asr.installed and asr.version
    assert asr.supports_transcript_streaming
    models = {model.name: model for model in asr.models}
    assert set(models) == {"tiny.en", "base"}
    assert models["tiny.en"].languages == ["en"]
    assert {"en", "fr", "de", "ja"} <= set(models["base"].languages)
    for model in asr.models:
        assert model.attribution.name and model.attribution.url.startswith("https://")
        assert model.version  # the installed faster-whisper

    (tts,) = info.tts
    assert tts.supports_synthesize_streaming
    voices = {voice.name: voice for voice in tts.voices}
    assert {"heart", "joe"} <= set(voices)  # hibari's bundled voice, Piper's joe
    assert voices["joe"].languages == ["en_US"]
    assert voices["heart"].languages == ["en_US"]
    assert "piper" in (voices["joe"].description or "")
    for voice in tts.voices:
        assert voice.version and voice.attribution.url.startswith("https://")
        assert voice.speakers is None or all(s.name for s in voice.speakers)

    (handle,) = info.handle
    assert handle.supports_handled_streaming
    assert [model.name for model in handle.models] == ["assistant"]
    assert handle.models[0].languages == ["en"]
    assert not info.wake and not info.intent


async def test_info_is_the_same_on_every_connection(server: BallsyProcess) -> None:
    seen = []
    for _ in range(2):
        async with server.client() as client:
            await client.write_event(Describe().event())
            seen.extend(await read_until(client, "info"))
    assert seen[0].data == seen[1].data
